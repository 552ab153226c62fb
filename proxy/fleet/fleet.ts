// Fleet mode for one sidecar: the store, this pod's membership, and the parts that hook
// into its heartbeats. Started only with --fleet-redis; nothing here ever blocks traffic
// or readiness: every decision that needs the store has a local answer when it is down.
import type { Config } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import { fleetKeys, type FleetKeys } from './fleet-keys.js';
import { Membership, type LocalPodState } from './membership.js';
import { RedisStore } from './redis-store.js';
import type { FleetStore } from './store.js';

export class Fleet {
  readonly keys: FleetKeys;
  readonly membership: Membership;
  private readonly redis: RedisStore;

  constructor(
    readonly config: Config,
    local: LocalPodState,
    private readonly logger: Logger,
  ) {
    if (!config.fleetRedis) throw new Error('Fleet needs --fleet-redis');
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
  }

  get store(): FleetStore {
    return this.redis;
  }

  /** Connects and starts beating in the background; returns at once. */
  start(): void {
    this.logger.info({ fleet: this.config.fleetName, pod: this.config.podName, revision: this.config.revision }, 'fleet mode on');
    this.redis.start();
    this.membership.start();
  }

  /** Leaves the fleet (the lease goes at once) and disconnects; bounded by the store timeout. */
  async close(): Promise<void> {
    if (this.redis.up) await this.membership.leave();
    else this.membership.stop();
    await this.redis.close();
  }
}
