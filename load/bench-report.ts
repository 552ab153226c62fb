// Turns one bench run into markdown: absolute figures, ratios against nginx and
// http-proxy from the same run, and the targets of issue 8.
import type { PeerName } from './peers.js';
import type { BackpressureResult } from './scenarios/backpressure.js';
import type { IdleMemoryResult } from './scenarios/idle-memory.js';
import type { SaturationResult } from './scenarios/saturation.js';
import type { SteadyResult } from './scenarios/steady.js';
import type { StormResult } from './scenarios/storm.js';

export interface PeerResult {
  readonly peer: PeerName;
  readonly skipped?: string;
  /** The peer or one of its scenarios broke; the message says how. */
  readonly failed?: string;
  readonly steady?: SteadyResult;
  readonly saturationSmall?: SaturationResult;
  readonly saturationLarge?: SaturationResult;
  readonly storm?: StormResult;
  readonly idle?: IdleMemoryResult;
  readonly backpressure?: BackpressureResult;
}

export interface TargetCheck {
  readonly target: string;
  readonly value: string;
  readonly met: boolean | undefined;
}

const fixed = (value: number | undefined, digits = 1): string => (value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits));
const kib = (bytes: number | undefined): string => fixed(bytes === undefined ? undefined : bytes / 1024, 2);
const ratio = (value: number | undefined, base: number | undefined): number | undefined =>
  value === undefined || base === undefined || base <= 0 ? undefined : value / base;

/** Figures where smaller is better, one per column of the ratio table. */
const COST_FIGURES: ReadonlyArray<{ name: string; read: (r: PeerResult) => number | undefined }> = [
  { name: 'CPU per round trip @ fixed rate', read: (r) => r.steady?.cpuUsPerRoundTrip },
  { name: 'CPU per round trip, saturated 128 B', read: (r) => r.saturationSmall?.cpuUsPerRoundTrip },
  { name: 'CPU per round trip, saturated 16 KiB', read: (r) => r.saturationLarge?.cpuUsPerRoundTrip },
  { name: 'idle RSS per connection', read: (r) => r.idle?.bytesPerConnection },
  { name: 'CPU per handshake', read: (r) => r.storm?.cpuUsPerConnection },
  { name: 'RSS per backpressured connection', read: (r) => r.backpressure?.bytesPerConnection },
];

export function addedRtt(result: PeerResult, direct: PeerResult | undefined): { p50: number | undefined; p99: number | undefined } {
  if (!result.steady || !direct?.steady || result.peer === 'direct') return { p50: undefined, p99: undefined };
  return { p50: result.steady.rttP50Us - direct.steady.rttP50Us, p99: result.steady.rttP99Us - direct.steady.rttP99Us };
}

export function figuresTable(results: readonly PeerResult[]): string {
  const direct = results.find((r) => r.peer === 'direct');
  const lines = [
    '| peer | CPU µs / round trip (fixed rate) | RTT p50 / p99 µs | added RTT p50 / p99 µs | saturated msg/s 128 B | CPU µs / rt saturated 128 B | saturated msg/s 16 KiB | CPU µs / rt saturated 16 KiB | idle RSS / conn KiB | idle JS heap / conn KiB | CPU µs / handshake | handshakes/s | RSS / backpressured conn KiB |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    if (r.skipped || r.failed) {
      lines.push(`| ${r.peer} | ${r.skipped ? `skipped: ${r.skipped}` : `failed: ${r.failed}`} |||||||||||| `);
      continue;
    }
    const added = addedRtt(r, direct);
    lines.push(
      `| ${r.peer} | ${fixed(r.steady?.cpuUsPerRoundTrip)} | ${fixed(r.steady?.rttP50Us, 0)} / ${fixed(r.steady?.rttP99Us, 0)} | ${fixed(added.p50, 0)} / ${fixed(added.p99, 0)} | ${fixed(r.saturationSmall?.roundTripsPerSecond, 0)} | ${fixed(r.saturationSmall?.cpuUsPerRoundTrip)} | ${fixed(r.saturationLarge?.roundTripsPerSecond, 0)} | ${fixed(r.saturationLarge?.cpuUsPerRoundTrip)} | ${kib(r.idle?.bytesPerConnection)}${r.idle?.failed ? ` (${r.idle.failed} failed)` : ''} | ${kib(r.idle?.heapBytesPerConnection)} | ${fixed(r.storm?.cpuUsPerConnection, 0)} | ${fixed(r.storm?.connectionsPerSecond, 0)} | ${kib(r.backpressure?.bytesPerConnection)} |`,
    );
  }
  return lines.join('\n');
}

/** Each proxy's costs divided by nginx's (< 1 is cheaper than nginx). */
export function ratioTable(results: readonly PeerResult[]): string {
  const nginx = results.find((r) => r.peer === 'nginx' && !r.skipped && !r.failed);
  if (!nginx) return '_nginx was not measured: no ratios._';
  const header = `| peer (÷ nginx) | ${COST_FIGURES.map((f) => f.name).join(' | ')} |`;
  const lines = [header, `|---|${COST_FIGURES.map(() => '---').join('|')}|`];
  for (const r of results) {
    if (r.skipped || r.failed || r.peer === 'direct') continue;
    lines.push(`| ${r.peer} | ${COST_FIGURES.map((f) => fixed(ratio(f.read(r), f.read(nginx)), 2)).join(' | ')} |`);
  }
  return lines.join('\n');
}

/** The targets of issue 8 for ws-sidecar, against the peers of the same run. */
export function targetChecks(results: readonly PeerResult[]): TargetCheck[] {
  const sidecar = results.find((r) => r.peer === 'ws-sidecar' && !r.skipped);
  const nginx = results.find((r) => r.peer === 'nginx' && !r.skipped);
  const naive = results.find((r) => r.peer === 'http-proxy' && !r.skipped);
  if (!sidecar) return [];
  const checks: TargetCheck[] = [];
  const vs = (target: string, value: number | undefined, limit: number | undefined, unit: string, note = ''): void => {
    checks.push({
      target,
      value: `${fixed(value, 2)} ${unit} vs limit ${fixed(limit, 2)} ${unit}${note}`,
      met: value === undefined || limit === undefined ? undefined : value <= limit,
    });
  };
  vs('CPU per message ≤ nginx (fixed rate)', sidecar.steady?.cpuUsPerRoundTrip, nginx?.steady?.cpuUsPerRoundTrip, 'µs');
  vs('CPU per message ≤ nginx (saturated 128 B)', sidecar.saturationSmall?.cpuUsPerRoundTrip, nginx?.saturationSmall?.cpuUsPerRoundTrip, 'µs');
  const idleKib = sidecar.idle?.bytesPerConnection === undefined ? undefined : sidecar.idle.bytesPerConnection / 1024;
  const heap = sidecar.idle?.heapBytesPerConnection;
  vs('idle memory ≤ 4 KiB per connection (RSS)', idleKib, 4, 'KiB', heap === undefined ? '' : ` (of which JS heap ${kib(heap)} KiB)`);
  const nginxHandshake = nginx?.storm?.cpuUsPerConnection;
  vs('handshake CPU ≤ 1.5 × nginx', sidecar.storm?.cpuUsPerConnection, nginxHandshake === undefined ? undefined : 1.5 * nginxHandshake, 'µs');
  for (const figure of [COST_FIGURES[0]!, COST_FIGURES[3]!, COST_FIGURES[4]!]) {
    const naiveValue = naive ? figure.read(naive) : undefined;
    vs(`≥ 2 × better than http-proxy: ${figure.name}`, figure.read(sidecar), naiveValue === undefined ? undefined : naiveValue / 2, figure.name.includes('RSS') ? 'B' : 'µs');
  }
  return checks;
}

export function targetTable(checks: readonly TargetCheck[]): string {
  const lines = ['| target (ws-sidecar) | measured vs limit | met |', '|---|---|---|'];
  for (const c of checks) lines.push(`| ${c.target} | ${c.value} | ${c.met === undefined ? 'not measured' : c.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}

export function benchMarkdown(results: readonly PeerResult[], header: string): string {
  return [header, '', figuresTable(results), '', ratioTable(results), '', targetTable(targetChecks(results)), ''].join('\n');
}
