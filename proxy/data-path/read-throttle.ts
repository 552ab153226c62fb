// The data path's side of the memory budget (memory/memory-budget.ts): how many
// bytes wait for slow sinks, and pausing the sources of the fullest ones. A paused
// source's peer keeps sending into the kernel's buffers (TCP flow control, not our
// heap) until the budget lets it read again. JS-plane tunnels only: the native
// engine bounds each direction at one read of its own and has no pause from JS.
// Sources held are not the only ones that can stall next: reads shrink meanwhile
// (bounded-reads.ts), so a sink that stalls under pressure holds 4 KiB, not 16.
import type { ReadThrottle } from '../memory/memory-budget.js';
import { READ_BYTES, setReadBytes, THROTTLED_READ_BYTES } from './bounded-reads.js';
import type { NativePlaneStats } from './data-plane.js';
import type { Pump } from './pump.js';
import type { TunnelRegistry } from './registry.js';
import { Tunnel } from './tunnel.js';

export class RegistryReadThrottle implements ReadThrottle {
  private readonly paused = new Set<Pump>();

  constructor(
    private readonly registry: TunnelRegistry,
    private readonly native: NativePlaneStats,
    private readonly pendingHandshakes: () => number,
  ) {
    registry.onClosed((tunnel) => {
      if (!(tunnel instanceof Tunnel)) return;
      this.paused.delete(tunnel.toApp);
      this.paused.delete(tunnel.toClient);
    });
  }

  queuedBytes(): number {
    let bytes = this.native.nativeQueuedBytes();
    for (const tunnel of this.registry.values()) {
      if (tunnel instanceof Tunnel) bytes += tunnel.toClient.queuedBytes + tunnel.toApp.queuedBytes;
    }
    return bytes;
  }

  nativeQueuedBytes(): number {
    return this.native.nativeQueuedBytes();
  }

  connections(): number {
    return this.registry.size + this.pendingHandshakes();
  }

  throttle(bytes: number): number {
    setReadBytes(THROTTLED_READ_BYTES);
    // Held since an earlier step and emptied since: it reads again (and is held again if it fills).
    for (const pump of this.paused) {
      if (pump.queuedBytes === 0) {
        pump.release();
        this.paused.delete(pump);
      }
    }
    let covered = 0;
    const candidates: Array<{ pump: Pump; queued: number }> = [];
    for (const tunnel of this.registry.values()) {
      // A closing tunnel needs both directions for its close handshake.
      if (!(tunnel instanceof Tunnel) || tunnel.isClosing) continue;
      for (const pump of [tunnel.toClient, tunnel.toApp]) {
        const queued = pump.queuedBytes;
        if (pump.isHeld) covered += queued;
        else if (queued > 0) candidates.push({ pump, queued });
      }
    }
    candidates.sort((a, b) => b.queued - a.queued);
    let count = 0;
    for (const { pump, queued } of candidates) {
      if (covered >= bytes) break;
      pump.hold();
      this.paused.add(pump);
      covered += queued;
      count++;
    }
    return count;
  }

  resumeAll(): number {
    setReadBytes(READ_BYTES);
    const count = this.paused.size;
    for (const pump of this.paused) pump.release();
    this.paused.clear();
    return count;
  }
}
