// GET /fleet: the fleet as this pod last saw it, in the design's shape. Other pods come from
// the last heartbeat's answer (their ages grow between beats); this pod's count is live.
// While the store is down the last view is kept, marked `storeUp: false`, with pods whose
// leases must have expired since left out.
import type { Config } from '../config/config.js';
import type { FleetMember, FleetSnapshot } from './membership.js';
import { fleetBalance } from './rebalance-decision.js';
import type { CapsView } from './fleet-caps.js';
import type { RebalanceStatus } from './rebalancer.js';

/** A pod as `/fleet` shows it: the lease's own fields, nothing derived. */
export type FleetPodView = FleetMember;

export interface FleetView {
  readonly fleet: string;
  readonly pod: string;
  readonly storeUp: boolean;
  /** The whole fleet's connections. */
  readonly connections: number;
  readonly fairShare: number;
  readonly pods: readonly FleetPodView[];
  readonly rebalance: RebalanceStatus;
  /** With --fleet-max-connections or --max-connections-per-tenant: the caps as last re-stated. */
  readonly caps?: CapsView;
}

export interface FleetViewSources {
  readonly config: Config;
  snapshot(): FleetSnapshot | undefined;
  storeUp(): boolean;
  leaseMs(): number;
  /** This pod as it is now (count, draining; readiness as of its last heartbeat). */
  self(): Omit<FleetMember, 'lastSeenMs' | 'pod' | 'revision'>;
  rebalance(): RebalanceStatus;
  caps(): CapsView | undefined;
}

/** The live pods of the last view, this pod's entry current. */
export function currentPods(sources: FleetViewSources): FleetPodView[] {
  const { config } = sources;
  const snapshot = sources.snapshot();
  const sinceBeat = snapshot ? Math.max(0, performance.now() - snapshot.receivedAt) : 0;
  const leaseMs = sources.leaseMs();
  const self: FleetPodView = { pod: config.podName, revision: config.revision, ...sources.self(), lastSeenMs: Math.round(sinceBeat) };
  const others = (snapshot?.pods ?? [])
    .filter((member) => member.pod !== config.podName)
    .map((member) => ({ ...member, lastSeenMs: Math.round(member.lastSeenMs + sinceBeat) }))
    .filter((member) => member.lastSeenMs < leaseMs);
  return [self, ...others].sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : 0));
}

export function buildFleetView(sources: FleetViewSources): FleetView {
  const pods = currentPods(sources);
  const balance = fleetBalance(pods);
  const caps = sources.caps();
  return {
    fleet: sources.config.fleetName,
    pod: sources.config.podName,
    storeUp: sources.storeUp(),
    connections: balance.total,
    fairShare: Math.round(balance.fairShare * 100) / 100,
    pods,
    rebalance: sources.rebalance(),
    ...(caps ? { caps } : {}),
  };
}
