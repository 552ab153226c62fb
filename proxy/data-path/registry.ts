// The live tunnels of this process: what drain walks, what metrics count.
import type { Tunnel, TunnelObserver } from './tunnel.js';

export type TunnelClosedListener = (tunnel: Tunnel) => void;

export class TunnelRegistry implements TunnelObserver {
  private readonly tunnels = new Set<Tunnel>();
  private readonly closedListeners: TunnelClosedListener[] = [];

  get size(): number {
    return this.tunnels.size;
  }

  has(tunnel: Tunnel): boolean {
    return this.tunnels.has(tunnel);
  }

  add(tunnel: Tunnel): void {
    this.tunnels.add(tunnel);
  }

  /** Live view: callers must not expect closes to take effect while walking it. */
  values(): IterableIterator<Tunnel> {
    return this.tunnels.values();
  }

  /** A snapshot, so callers may close tunnels while walking it. */
  list(): Tunnel[] {
    return [...this.tunnels];
  }

  onClosed(listener: TunnelClosedListener): void {
    this.closedListeners.push(listener);
  }

  onTunnelClosed(tunnel: Tunnel): void {
    if (!this.tunnels.delete(tunnel)) return;
    for (const listener of this.closedListeners) listener(tunnel);
  }
}
