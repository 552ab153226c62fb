// The live tunnels of this process: what drain walks, what metrics count.
import type { Tunnel, TunnelObserver } from './tunnel.js';

export type TunnelClosedListener = (tunnel: Tunnel) => void;

export class TunnelRegistry implements TunnelObserver {
  private readonly tunnels = new Set<Tunnel>();
  private readonly closedListeners: TunnelClosedListener[] = [];
  private emptyWaiters: Array<() => void> = [];

  get size(): number {
    return this.tunnels.size;
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

  /** Resolves when no tunnel is left (at once if none is open). */
  whenEmpty(): Promise<void> {
    if (this.tunnels.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }

  onTunnelClosed(tunnel: Tunnel): void {
    if (!this.tunnels.delete(tunnel)) return;
    for (const listener of this.closedListeners) listener(tunnel);
    if (this.tunnels.size === 0 && this.emptyWaiters.length > 0) {
      const waiters = this.emptyWaiters;
      this.emptyWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}
