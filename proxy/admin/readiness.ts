// Readiness as a value: ready only when no reason says otherwise.
import type { Drain } from '../drain/drain.js';
import type { UpstreamProbe, UpstreamState } from './upstream-check.js';

/** `upstream_unreachable`, `draining`, and whatever the extra sources add (e.g. `at_capacity`). */
export type NotReadyReason = string;

export interface Readiness {
  readonly ready: boolean;
  readonly reasons: NotReadyReason[];
  readonly upstream: UpstreamState;
}

export interface ReadinessSources {
  readonly drain: Drain;
  readonly probe: UpstreamProbe;
  /** Extra readiness reasons (e.g. at capacity), empty when none. */
  readonly notReadyReasons: () => NotReadyReason[];
}

export async function checkReadiness(sources: ReadinessSources): Promise<Readiness> {
  const reasons = [...sources.notReadyReasons()];
  if (sources.drain.isDraining) reasons.push('draining');
  const upstream = await sources.probe.probe();
  if (!upstream.up) reasons.push('upstream_unreachable');
  return { ready: reasons.length === 0, reasons, upstream };
}
