// The fleet-mode metrics, registered beside the others only with --fleet-redis (without it
// a scrape is exactly what it was). Gauges are read at scrape time from the fleet view;
// labels are closed enums only: no pod, tenant or IP.
import { Counter, Gauge, type Registry } from 'prom-client';

export const SHADOW_ACTIONS = ['rejected_fleet_capacity', 'rejected_tenant_limit', 'rebalance_close'] as const;
export type ShadowAction = (typeof SHADOW_ACTIONS)[number];

export interface FleetMetricSources {
  storeUp(): boolean;
  /** Live pods in the last fleet view. */
  pods(): number;
  /** The fleet's total connections in the last view. */
  connections(): number;
  fairShare(): number;
  /** Failed store calls since start, as the store counts them. */
  storeErrors(): number;
}

export class FleetMetrics {
  readonly rebalanceClosesTotal: Counter;
  readonly localDecisionsTotal: Counter;
  readonly shadowTotal: Counter<'action'>;

  constructor(registry: Registry, sources: FleetMetricSources) {
    const registers = [registry];
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    };
    gauge('ws_sidecar_fleet_up', '1 while the fleet store answers in time', () => (sources.storeUp() ? 1 : 0));
    gauge('ws_sidecar_fleet_pods', 'Live pods of the fleet, as last seen', sources.pods);
    gauge('ws_sidecar_fleet_connections', 'WebSocket connections of the whole fleet, as last seen', sources.connections);
    gauge('ws_sidecar_fleet_fair_share', 'Fleet connections per live, non-draining pod', sources.fairShare);
    this.rebalanceClosesTotal = new Counter({ name: 'ws_sidecar_rebalance_closes_total', help: 'Connections closed politely (1012) to rebalance the fleet', registers });
    new Counter({
      name: 'ws_sidecar_fleet_store_errors_total',
      help: 'Fleet store calls that failed or timed out',
      registers,
      collect() {
        this.reset();
        this.inc(sources.storeErrors());
      },
    });
    this.localDecisionsTotal = new Counter({ name: 'ws_sidecar_fleet_local_decisions_total', help: 'Fleet decisions made on local knowledge only because the store was down', registers });
    this.shadowTotal = new Counter({ name: 'ws_sidecar_fleet_shadow_total', help: 'Fleet actions decided but not taken (--fleet-shadow)', labelNames: ['action'], registers });
    for (const action of SHADOW_ACTIONS) this.shadowTotal.inc({ action }, 0);
  }
}
