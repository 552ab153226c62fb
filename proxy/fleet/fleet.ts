// Fleet mode for one sidecar: the store, this pod's membership, the fleet view and metrics,
// and the rebalancer, all driven by the heartbeat. Started only with --fleet-redis; nothing
// here ever blocks traffic or readiness: every decision that needs the store has a local
// answer when it is down.
import type { Registry } from 'prom-client';
import type { Config } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import type { TunnelRegistry } from '../data-path/registry.js';
import { FleetCaps } from './fleet-caps.js';
import { FleetMetrics } from '../metrics/fleet-metrics.js';
import { fleetKeys, type FleetKeys } from './fleet-keys.js';
import { buildFleetView, currentPods, type FleetView, type FleetViewSources } from './fleet-view.js';
import { Membership, type LocalPodState } from './membership.js';
import { fleetBalance } from './rebalance-decision.js';
import { Rebalancer } from './rebalancer.js';
import { RedisStore } from './redis-store.js';
import type { FleetStore } from './store.js';

export interface FleetDeps {
  readonly config: Config;
  /** This pod's state as published with each heartbeat. */
  readonly local: LocalPodState;
  readonly tunnels: TunnelRegistry;
  /** The sidecar's metrics registry: the fleet metrics join it. */
  readonly metricsRegistry: Registry;
  readonly logger: Logger;
}

export class Fleet {
  readonly keys: FleetKeys;
  readonly membership: Membership;
  readonly metrics: FleetMetrics;
  readonly rebalancer: Rebalancer;
  /** The fleet-wide and per-tenant caps; undefined when neither is set. */
  readonly caps: FleetCaps | undefined;
  private readonly redis: RedisStore;
  private readonly viewSources: FleetViewSources;
  private readonly config: Config;
  private readonly logger: Logger;

  constructor(deps: FleetDeps) {
    const { config, local, logger } = deps;
    if (!config.fleetRedis) throw new Error('Fleet needs --fleet-redis');
    this.config = config;
    this.logger = logger;
    this.keys = fleetKeys(config.fleetName);
    this.redis = new RedisStore({ target: config.fleetRedis, timeoutMs: config.fleetTimeoutMs, logger });
    this.membership = new Membership({
      store: this.redis,
      keys: this.keys,
      podName: config.podName,
      revision: config.revision,
      heartbeatMs: config.fleetHeartbeatMs,
      local,
      logger,
    });
    this.viewSources = {
      config,
      snapshot: () => this.membership.snapshot,
      storeUp: () => this.storeUp,
      leaseMs: () => this.membership.leaseMs,
      self: () => ({
        connections: local.connections(),
        maxConnections: local.maxConnections,
        ready: this.membership.snapshot?.pods.find((pod) => pod.pod === config.podName)?.ready ?? false,
        draining: local.draining(),
      }),
      rebalance: () => this.rebalancer.status,
      caps: () => this.caps?.view,
    };
    this.metrics = new FleetMetrics(deps.metricsRegistry, {
      storeUp: () => this.storeUp,
      pods: () => currentPods(this.viewSources).length,
      connections: () => fleetBalance(currentPods(this.viewSources)).total,
      fairShare: () => fleetBalance(currentPods(this.viewSources)).fairShare,
      storeErrors: () => this.redis.errors,
    });
    this.rebalancer = new Rebalancer(
      config,
      deps.tunnels,
      {
        onShed: (shadow) => (shadow ? this.metrics.shadowTotal.inc({ action: 'rebalance_close' }) : this.metrics.rebalanceClosesTotal.inc()),
        onLocalDecision: () => this.metrics.localDecisionsTotal.inc(),
      },
      logger,
    );
    if (config.fleetMaxConnections > 0 || config.maxConnectionsPerTenant > 0) {
      this.caps = new FleetCaps({
        store: this.redis,
        keys: this.keys,
        podName: config.podName,
        fleetMaxConnections: config.fleetMaxConnections,
        maxConnectionsPerTenant: config.maxConnectionsPerTenant,
        shadow: config.fleetShadow,
        timeoutMs: config.fleetTimeoutMs,
        leaseMs: this.membership.leaseMs,
        podsLastSeen: () => Math.max(1, this.membership.snapshot?.pods.length ?? 1),
        counters: {
          localDecision: () => this.metrics.localDecisionsTotal.inc(),
          shadowed: (action) => this.metrics.shadowTotal.inc({ action }),
        },
        logger,
      });
      // First, so the re-statement goes out with the beat's answer, before the rebalancer's work.
      const caps = this.caps;
      this.membership.onHeartbeat(() => caps.restate());
    }
    this.membership.onHeartbeat((snapshot) => this.rebalancer.check(snapshot, true));
    this.membership.onHeartbeatFailed(this.rebalancer.storeFailed);
    // Pause at once when the connection drops, not a heartbeat later.
    this.redis.onStateChange((up) => {
      if (!up) this.rebalancer.storeFailed();
    });
  }

  get store(): FleetStore {
    return this.redis;
  }

  /** Up when the store answers and the last view is younger than a lease. */
  get storeUp(): boolean {
    const snapshot = this.membership.snapshot;
    return this.redis.up && snapshot !== undefined && performance.now() - snapshot.receivedAt < this.membership.leaseMs;
  }

  view(): FleetView {
    return buildFleetView(this.viewSources);
  }

  /** Connects and starts beating in the background; returns at once. */
  start(): void {
    this.logger.info({ fleet: this.config.fleetName, pod: this.config.podName, revision: this.config.revision, store: this.config.fleetRedis?.shown }, 'fleet mode on');
    this.redis.start();
    this.membership.start();
  }

  /** Leaves the fleet (the lease goes at once) and disconnects; bounded by the store timeout. */
  async close(): Promise<void> {
    this.rebalancer.stop();
    if (this.redis.up) await this.caps?.leave();
    if (this.redis.up) await this.membership.leave();
    else this.membership.stop();
    await this.redis.close();
  }
}
