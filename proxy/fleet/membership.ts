// This pod's lease in the fleet: renewed every heartbeat (one atomic script, timed by the
// Redis server's clock), carrying what the others need to know of it. Each successful beat
// yields a FleetSnapshot that the fleet's other parts hook into (view, rebalancer, caps).
// A failed beat changes nothing locally: the next one re-registers, so a store that comes
// back empty is whole again within a heartbeat.
import type { Logger } from '../config/logger.js';
import type { FleetKeys } from './fleet-keys.js';
import { DEREGISTER_SCRIPT, HEARTBEAT_SCRIPT } from './membership-script.js';
import type { FleetStore, StoreReply } from './store.js';

/** A lease lives this many heartbeats: one or two lost beats never drop a live pod. */
export const LEASE_HEARTBEATS = 4;

/** What this pod publishes, read fresh at every beat. */
export interface LocalPodState {
  connections(): number;
  readonly maxConnections: number;
  /** May check (the upstream probe is cached briefly), so it may be async. */
  ready(): boolean | Promise<boolean>;
  draining(): boolean;
}

export interface FleetMember {
  readonly pod: string;
  readonly revision: string;
  readonly connections: number;
  readonly maxConnections: number;
  readonly ready: boolean;
  readonly draining: boolean;
  /** How long ago it renewed its lease, by the server's clock, at the time of the snapshot. */
  readonly lastSeenMs: number;
}

export interface FleetSnapshot {
  readonly serverNowMs: number;
  /** performance.now() when the answer arrived: ages grow from here between beats. */
  readonly receivedAt: number;
  readonly pods: readonly FleetMember[];
  /** Pods whose leases this beat found expired and removed. */
  readonly reaped: readonly string[];
}

/** Runs after each successful beat, in registration order; may call the store itself. */
export type HeartbeatHook = (snapshot: FleetSnapshot) => void | Promise<void>;

export interface MembershipOptions {
  readonly store: FleetStore;
  readonly keys: FleetKeys;
  readonly podName: string;
  readonly revision: string;
  readonly heartbeatMs: number;
  readonly local: LocalPodState;
  readonly logger: Logger;
}

export class Membership {
  private last: FleetSnapshot | undefined;
  private readonly hooks: HeartbeatHook[] = [];
  private readonly failureListeners: Array<(err: unknown) => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly options: MembershipOptions) {}

  get leaseMs(): number {
    return this.options.heartbeatMs * LEASE_HEARTBEATS;
  }

  /** The last fleet the store answered with; undefined until the first beat succeeds. */
  get snapshot(): FleetSnapshot | undefined {
    return this.last;
  }

  onHeartbeat(hook: HeartbeatHook): void {
    this.hooks.push(hook);
  }

  /** Called when a beat fails (store down or slow): the fleet view is as old as the last beat. */
  onHeartbeatFailed(listener: (err: unknown) => void): void {
    this.failureListeners.push(listener);
  }

  start(): void {
    this.stopped = false;
    void this.beatNow();
  }

  /** A beat now (e.g. the drain began: the fleet should know at once); joins one under way. */
  beatNow(): Promise<void> {
    if (this.beating) {
      this.again = true;
      return this.beating;
    }
    clearTimeout(this.timer);
    const startedAt = performance.now();
    this.beating = this.beat().finally(() => {
      this.beating = undefined;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        void this.beatNow();
        return;
      }
      // Keep the cadence: the next beat is due a heartbeat after this one started.
      const wait = Math.max(0, startedAt + this.options.heartbeatMs - performance.now());
      this.timer = setTimeout(() => void this.beatNow(), wait);
      this.timer.unref();
    });
    return this.beating;
  }

  /** Stops beating and removes the lease, so the fleet stops counting this pod at once. */
  async leave(): Promise<void> {
    this.stop();
    await this.beating;
    const { store, keys, podName, logger } = this.options;
    try {
      await store.run(DEREGISTER_SCRIPT, [keys.leases, keys.pods], [podName]);
      logger.info({ pod: podName }, 'left the fleet');
    } catch (err) {
      logger.warn({ err, pod: podName }, 'could not leave the fleet: the lease will expire');
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async beat(): Promise<void> {
    const { store, keys, podName, revision, local, logger } = this.options;
    const state = JSON.stringify({
      revision,
      connections: local.connections(),
      maxConnections: local.maxConnections,
      ready: await local.ready(),
      draining: local.draining(),
    });
    let reply: StoreReply;
    try {
      reply = await store.run(HEARTBEAT_SCRIPT, [keys.leases, keys.pods], [podName, state, this.leaseMs]);
    } catch (err) {
      logger.debug({ err }, 'fleet heartbeat failed');
      for (const listener of this.failureListeners) listener(err);
      return;
    }
    const snapshot = parseHeartbeat(reply, performance.now());
    if (!snapshot) {
      logger.warn('fleet heartbeat answered in an unknown shape');
      return;
    }
    if (snapshot.reaped.length > 0) logger.info({ pods: snapshot.reaped }, 'fleet leases expired');
    this.last = snapshot;
    for (const hook of this.hooks) {
      try {
        await hook(snapshot);
      } catch (err) {
        logger.warn({ err }, 'fleet heartbeat hook failed');
      }
    }
  }
}

export function parseHeartbeat(reply: StoreReply, receivedAt: number): FleetSnapshot | undefined {
  if (!Array.isArray(reply) || reply.length !== 3) return undefined;
  const [now, reaped, flat] = reply;
  if (typeof now !== 'number' || !Array.isArray(reaped) || !Array.isArray(flat)) return undefined;
  const pods: FleetMember[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const member = parseMember(String(flat[i]), String(flat[i + 1]), now);
    if (member) pods.push(member);
  }
  pods.sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
  return { serverNowMs: now, receivedAt, pods, reaped: reaped.map(String) };
}

function parseMember(pod: string, json: string, nowMs: number): FleetMember | undefined {
  let state: Record<string, unknown>;
  try {
    state = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0);
  return {
    pod,
    revision: typeof state.revision === 'string' ? state.revision : '',
    connections: count(state.connections),
    maxConnections: count(state.maxConnections),
    ready: state.ready === true,
    draining: state.draining === true,
    lastSeenMs: Math.max(0, nowMs - count(state.renewedAtMs)),
  };
}
