// The /status snapshot: what the status page and an operator want at a glance.
// Counts are read from the prom-client metrics, so there is one bookkeeping only.
import type { Config } from '../config/config.js';
import { configSummary, type SummaryValue } from '../config/config-summary.js';
import type { DrainPhase } from '../drain/drain.js';
import type { LoopHealth, LoopHealthState } from './loop-health.js';
import { CONNECTION_OUTCOMES, DIRECTIONS, INITIATORS, type ConnectionOutcome, type Direction, type Initiator, type Metrics } from '../metrics/metrics.js';
import { checkReadiness, type Readiness, type ReadinessSources } from './readiness.js';
import { VERSION } from '../config/version.js';

export interface StatusSources extends ReadinessSources {
  readonly config: Config;
  readonly metrics: Metrics;
  readonly activeConnections: () => number;
  readonly loopHealth: LoopHealth;
  /** The data plane pumping tunnels after their handshake (--data-plane). */
  readonly dataPlane: { readonly name: 'js' | 'native'; readonly fallbackReason: string | undefined };
  /** Wall-clock start of the process's sidecar. */
  readonly startedAtMs: number;
}

export interface StatusSnapshot {
  readonly service: 'ws-sidecar';
  readonly version: string;
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly ready: boolean;
  readonly reasons: Readiness['reasons'];
  readonly eventLoop: LoopHealthState;
  /** `native` when the native addon pumps tunnels; with `fallbackReason` when `auto` could not load it. */
  readonly dataPlane: { readonly name: 'js' | 'native'; readonly fallbackReason?: string };
  readonly connections: {
    readonly active: number;
    /** 0 = unlimited. */
    readonly max: number;
    readonly outcomes: Record<ConnectionOutcome, number>;
    readonly closesByInitiator: Record<Initiator, number>;
  };
  readonly traffic: { readonly messages: Record<Direction, number>; readonly bytes: Record<Direction, number> };
  readonly drain: { readonly draining: boolean; readonly phase: DrainPhase };
  readonly upstream: { readonly check: string; readonly up: boolean; readonly reason: string; readonly checkedAt: string | null };
  readonly config: Record<string, SummaryValue>;
}

export async function buildStatus(sources: StatusSources): Promise<StatusSnapshot> {
  const readiness = await checkReadiness(sources);
  const { metrics } = sources;
  const now = Date.now();
  return {
    service: 'ws-sidecar',
    version: VERSION,
    startedAt: new Date(sources.startedAtMs).toISOString(),
    uptimeSeconds: Math.round((now - sources.startedAtMs) / 100) / 10,
    ready: readiness.ready,
    reasons: readiness.reasons,
    eventLoop: sources.loopHealth.state(),
    dataPlane: sources.dataPlane.fallbackReason ? { name: sources.dataPlane.name, fallbackReason: sources.dataPlane.fallbackReason } : { name: sources.dataPlane.name },
    connections: {
      active: sources.activeConnections(),
      max: sources.config.maxConnections,
      outcomes: await sumBy(metrics.connectionsTotal, 'outcome', CONNECTION_OUTCOMES),
      closesByInitiator: await sumBy(metrics.closesTotal, 'initiator', INITIATORS),
    },
    traffic: {
      messages: await sumBy(metrics.messagesTotal, 'direction', DIRECTIONS),
      bytes: await sumBy(metrics.bytesTotal, 'direction', DIRECTIONS),
    },
    drain: { draining: sources.drain.isDraining, phase: sources.drain.phase },
    upstream: {
      check: sources.probe.description,
      up: readiness.upstream.up,
      reason: readiness.upstream.reason,
      checkedAt: readiness.upstream.checkedAtMs > 0 ? new Date(readiness.upstream.checkedAtMs).toISOString() : null,
    },
    config: configSummary(sources.config),
  };
}

interface LabelledCounter {
  get(): Promise<{ values: Array<{ labels: Record<string, string | number | undefined>; value: number }> }>;
}

/** A counter's values summed per value of one label (other labels folded in); every known key present. */
async function sumBy<K extends string>(counter: LabelledCounter, label: string, keys: readonly K[]): Promise<Record<K, number>> {
  const totals = Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
  for (const { labels, value } of (await counter.get()).values) {
    const key = labels[label] as K;
    if (key in totals) totals[key] += value;
  }
  return totals;
}
