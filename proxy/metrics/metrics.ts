// Every metric of the design in one place, on a Registry of our own.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const CONNECTION_OUTCOMES = [
  'accepted',
  'rejected_capacity',
  'rejected_client_limit',
  'rejected_tenant_limit',
  'rejected_fleet_capacity',
  'rejected_rate',
  'rejected_draining',
  'upstream_failed',
] as const;
export type ConnectionOutcome = (typeof CONNECTION_OUTCOMES)[number];

export const INITIATORS = ['client', 'upstream', 'sidecar'] as const;
export type Initiator = (typeof INITIATORS)[number];
export const DIRECTIONS = ['client_to_upstream', 'upstream_to_client'] as const;
export type Direction = (typeof DIRECTIONS)[number];
export const CODE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** `fd_limit`: dropped at the listener's share of the open-files limit; `error`: accept() failed. */
export const ACCEPT_FAILURE_REASONS = ['fd_limit', 'error'] as const;

/**
 * The closes the design names, exported at 0 from the start: a series born at its first increment
 * loses that increment to rate(), so a drain that fits between two scrapes showed no hand-offs.
 */
export const EXPECTED_CLOSES: ReadonlyArray<readonly [Initiator, string]> = [
  ...(['1001', '1012', '1013', '1014'] as const).map((code) => ['sidecar', code] as const),
  ...(['client', 'upstream'] as const).flatMap((initiator) => (['1000', '1001', '1006'] as const).map((code) => [initiator, code] as const)),
];

const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Messages and payload bytes per direction. */
export interface TrafficCounts {
  messagesToUpstream: number;
  bytesToUpstream: number;
  messagesToClient: number;
  bytesToClient: number;
}

/** The memory budget's states (memory/memory-budget.ts), lowest pressure first. */
export const MEMORY_STATE_NAMES = ['normal', 'refusing', 'throttling'] as const;

/** The memory budget as metrics see it (read at scrape time). */
export interface MemoryMetricSources {
  /** 0 = no budget. */
  budgetBytes(): number;
  usedBytes(): number;
  queuedBytes(): number;
  state(): (typeof MEMORY_STATE_NAMES)[number];
}

/** Live values read at scrape time, so gauges and traffic counters never drift from the truth. */
export interface MetricSources {
  activeConnections(): number;
  draining(): boolean;
  upstreamUp(): boolean;
  /** Totals since start, live tunnels included. */
  traffic(): TrafficCounts;
  /** Absent: the memory gauges read 0 (no budget). */
  memory?: MemoryMetricSources;
}

export class Metrics {
  readonly registry = new Registry();
  readonly connectionsTotal: Counter<'outcome'>;
  readonly connectionDuration: Histogram;
  readonly messagesTotal: Counter<'direction'>;
  readonly bytesTotal: Counter<'direction'>;
  readonly closesTotal: Counter<'initiator' | 'code'>;
  readonly upgradeDuration: Histogram;
  readonly httpRequestsTotal: Counter<'code_class'>;
  readonly acceptFailuresTotal: Counter<'reason'>;
  readonly memoryStateChangesTotal: Counter<'state'>;
  readonly memoryReadsPausedTotal: Counter;
  readonly memoryUpgradesRefusedTotal: Counter;
  readonly memoryCollectionsTotal: Counter;

  constructor(maxConnections: number, sources: MetricSources) {
    const registers = [this.registry];
    new Gauge({
      name: 'ws_sidecar_connections_active',
      help: 'WebSocket connections open through the sidecar',
      registers,
      collect() {
        this.set(sources.activeConnections());
      },
    });
    new Gauge({ name: 'ws_sidecar_connections_max', help: 'Configured connection cap (0 = unlimited)', registers }).set(maxConnections);
    this.connectionsTotal = new Counter({
      name: 'ws_sidecar_connections_total',
      help: 'WebSocket upgrade requests by admission outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.connectionDuration = new Histogram({
      name: 'ws_sidecar_connection_duration_seconds',
      help: 'Lifetime of proxied WebSocket connections',
      // WebSockets live from seconds to a day.
      buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400],
      registers,
    });
    // The frame scanners count; a scrape reads their totals (no per-frame metric calls).
    this.messagesTotal = trafficCounter('ws_sidecar_messages_total', 'Complete WebSocket data messages forwarded', registers, () => {
      const traffic = sources.traffic();
      return [traffic.messagesToUpstream, traffic.messagesToClient];
    });
    this.bytesTotal = trafficCounter('ws_sidecar_bytes_total', 'WebSocket data payload bytes forwarded (as on the wire, after any compression)', registers, () => {
      const traffic = sources.traffic();
      return [traffic.bytesToUpstream, traffic.bytesToClient];
    });
    this.closesTotal = new Counter({ name: 'ws_sidecar_closes_total', help: 'Closed WebSocket connections by who closed first and the close code', labelNames: ['initiator', 'code'], registers });
    this.upgradeDuration = new Histogram({
      name: 'ws_sidecar_upgrade_duration_seconds',
      help: 'Time from the upgrade request to the app\'s 101',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    new Gauge({
      name: 'ws_sidecar_draining',
      help: '1 while the sidecar drains',
      registers,
      collect() {
        this.set(sources.draining() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'ws_sidecar_upstream_up',
      help: '1 when the last upstream check succeeded',
      registers,
      collect() {
        this.set(sources.upstreamUp() ? 1 : 0);
      },
    });
    this.httpRequestsTotal = new Counter({ name: 'ws_sidecar_http_requests_total', help: 'Plain HTTP requests forwarded, by status class', labelNames: ['code_class'], registers });
    this.acceptFailuresTotal = new Counter({ name: 'ws_sidecar_accept_failures_total', help: 'Connections the data listener could not take, by reason', labelNames: ['reason'], registers });
    for (const reason of ACCEPT_FAILURE_REASONS) this.acceptFailuresTotal.inc({ reason }, 0);
    this.registerMemory(registers, sources.memory);
    this.memoryStateChangesTotal = new Counter({ name: 'ws_sidecar_memory_state_changes_total', help: 'Times the memory budget entered each state', labelNames: ['state'], registers });
    for (const state of MEMORY_STATE_NAMES) this.memoryStateChangesTotal.inc({ state }, 0);
    this.memoryReadsPausedTotal = new Counter({
      name: 'ws_sidecar_memory_reads_paused_total',
      help: 'Sources the memory budget stopped reading (those whose sinks held the most queued bytes)',
      registers,
    });
    this.memoryUpgradesRefusedTotal = new Counter({
      name: 'ws_sidecar_memory_upgrades_refused_total',
      help: 'Upgrades refused under memory pressure (also counted in connections_total as rejected_capacity)',
      registers,
    });
    this.memoryCollectionsTotal = new Counter({
      name: 'ws_sidecar_memory_collections_total',
      help: 'Full V8 collections the memory budget ran under pressure (so freed buffers stop counting as used)',
      registers,
    });
    // Known label values start at 0, so rates work from the first scrape.
    for (const outcome of CONNECTION_OUTCOMES) this.connectionsTotal.inc({ outcome }, 0);
    for (const code_class of CODE_CLASSES) this.httpRequestsTotal.inc({ code_class }, 0);
    for (const [initiator, code] of EXPECTED_CLOSES) this.closesTotal.inc({ initiator, code }, 0);
    collectDefaultMetrics({ register: this.registry });
    // Gauges named `_total` fail `promtool check metrics`; the same counts are in
    // nodejs_active_handles{type}, nodejs_active_requests{type} and nodejs_active_resources{type}.
    for (const name of LINT_FAILING_DEFAULTS) this.registry.removeSingleMetric(name);
  }

  private registerMemory(registers: Registry[], memory: MemoryMetricSources | undefined): void {
    new Gauge({
      name: 'ws_sidecar_memory_budget_bytes',
      help: 'The memory budget (--max-memory, or the cgroup limit minus headroom); 0 = none',
      registers,
      collect() {
        this.set(memory?.budgetBytes() ?? 0);
      },
    });
    new Gauge({
      name: 'ws_sidecar_memory_used_bytes',
      help: 'Memory the budget counts as used: RSS, less the pages known to be freed and kept for reuse',
      registers,
      collect() {
        this.set(memory?.usedBytes() ?? 0);
      },
    });
    new Gauge({
      name: 'ws_sidecar_memory_queued_bytes',
      help: 'Bytes held for sinks that are slow to read (both data planes)',
      registers,
      collect() {
        this.set(memory?.queuedBytes() ?? 0);
      },
    });
    new Gauge({
      name: 'ws_sidecar_memory_state',
      help: 'The memory budget\'s state: 1 for the current one (normal, refusing upgrades, throttling reads)',
      labelNames: ['state'],
      registers,
      collect() {
        const current = memory?.state() ?? 'normal';
        for (const state of MEMORY_STATE_NAMES) this.set({ state }, state === current ? 1 : 0);
      },
    });
  }

  countHttpResponse(statusCode: number): void {
    const index = Math.floor(statusCode / 100) - 1;
    this.httpRequestsTotal.inc({ code_class: CODE_CLASSES[index] ?? '5xx' });
  }

  /** Close codes are a closed set: anything outside the registered ranges is bucketed. */
  countClose(initiator: Initiator, code: number): void {
    this.closesTotal.inc({ initiator, code: closeCodeLabel(code) });
  }
}

/** A counter per direction whose value is read at scrape time: [client → upstream, upstream → client]. */
function trafficCounter(name: string, help: string, registers: Registry[], read: () => [number, number]): Counter<'direction'> {
  return new Counter({
    name,
    help,
    labelNames: ['direction'],
    registers,
    collect() {
      const [toUpstream, toClient] = read();
      this.reset();
      this.inc({ direction: 'client_to_upstream' }, toUpstream);
      this.inc({ direction: 'upstream_to_client' }, toClient);
    },
  });
}

/** 1000–1015 as themselves; registered (3000–3999) and private (4000–4999) codes as ranges. */
export function closeCodeLabel(code: number): string {
  if (code >= 1000 && code <= 1015) return String(code);
  if (code >= 3000 && code <= 3999) return '3xxx';
  if (code >= 4000 && code <= 4999) return '4xxx';
  return 'other';
}
