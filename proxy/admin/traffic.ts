// Message and byte totals: closed tunnels' counts kept, live tunnels' read on demand.
import type { TrafficCounts } from '../metrics/metrics.js';
import type { TunnelRegistry } from '../data-path/registry.js';
import type { TunnelShape } from '../data-path/tunnel-shape.js';

export class TrafficTotals {
  private readonly closed: TrafficCounts = { messagesToUpstream: 0, bytesToUpstream: 0, messagesToClient: 0, bytesToClient: 0 };

  constructor(private readonly registry: TunnelRegistry) {
    registry.onClosed((tunnel) => addTunnel(this.closed, tunnel));
  }

  read(): TrafficCounts {
    const totals = { ...this.closed };
    for (const tunnel of this.registry.values()) addTunnel(totals, tunnel);
    return totals;
  }
}

function addTunnel(totals: TrafficCounts, tunnel: TunnelShape): void {
  totals.messagesToUpstream += tunnel.toApp.scanner.messages;
  totals.bytesToUpstream += tunnel.toApp.scanner.payloadBytes;
  totals.messagesToClient += tunnel.toClient.scanner.messages;
  totals.bytesToClient += tunnel.toClient.scanner.payloadBytes;
}
