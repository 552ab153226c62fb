// The live tunnels of this process: what drain walks, what metrics count.
import type { TunnelShape, TunnelShapeObserver } from './tunnel-shape.js';
import type { TunnelObserver } from './tunnel.js';

export type TunnelClosedListener = (tunnel: TunnelShape) => void;

export class TunnelRegistry implements TunnelObserver, TunnelShapeObserver {
  private readonly tunnels = new Set<TunnelShape>();
  private readonly closedListeners: TunnelClosedListener[] = [];

  get size(): number {
    return this.tunnels.size;
  }

  has(tunnel: TunnelShape): boolean {
    return this.tunnels.has(tunnel);
  }

  add(tunnel: TunnelShape): void {
    this.tunnels.add(tunnel);
  }

  /** Live view: callers must not expect closes to take effect while walking it. */
  values(): IterableIterator<TunnelShape> {
    return this.tunnels.values();
  }

  /** A snapshot, so callers may close tunnels while walking it. */
  list(): TunnelShape[] {
    return [...this.tunnels];
  }

  onClosed(listener: TunnelClosedListener): void {
    this.closedListeners.push(listener);
  }

  onTunnelClosed(tunnel: TunnelShape): void {
    if (!this.tunnels.delete(tunnel)) return;
    for (const listener of this.closedListeners) listener(tunnel);
  }
}
