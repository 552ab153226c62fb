// `npm run bench` options: the full figures of issue 8, or `--quick` for CI.
import { parseArgs } from 'node:util';
import { PEER_NAMES, type PeerName } from './peers.js';
import type { FleetCapsParams } from './scenarios/fleet-caps.js';
import type { BackpressureParams } from './scenarios/backpressure.js';
import type { IdleMemoryParams } from './scenarios/idle-memory.js';
import type { SaturationParams } from './scenarios/saturation.js';
import type { SteadyParams } from './scenarios/steady.js';
import type { StormParams } from './scenarios/storm.js';

export interface BenchPlan {
  readonly quick: boolean;
  /** In the order they run: direct first, then as given (reversed every other round). */
  readonly peers: readonly PeerName[];
  /** Whole runs, one after the other; the README table takes the median over them. */
  readonly rounds: number;
  /** Which scenarios run (all by default). */
  readonly scenarios: readonly ScenarioName[];
  readonly steady: SteadyParams;
  readonly saturationSmall: SaturationParams;
  readonly saturationLarge: SaturationParams;
  readonly storm: StormParams;
  readonly idle: IdleMemoryParams;
  /** The fleet caps' A/B (ws-sidecar only, with a real redis-server). */
  readonly caps: FleetCapsParams;
  readonly backpressure: BackpressureParams;
  /** Where the JSON result goes (a directory). */
  readonly outDir: string;
  /** When set, the sidecar runs under `node --cpu-prof` writing here. */
  readonly cpuProfileDir: string | undefined;
}

/**
 * The per-process open-files hard limit here is 20,000 and a proxy holds two
 * sockets per connection, so 9,000 idle connections is the most every peer can hold.
 */
const FULL_IDLE_CONNECTIONS = 9000;

const FULL = {
  steady: { connections: 1000, messagesPerSecond: 5000, payloadBytes: 128, warmupMs: 2000, durationMs: 10_000 },
  saturationSmall: { connections: 64, window: 8, payloadBytes: 128, warmupMs: 1000, durationMs: 5000 },
  saturationLarge: { connections: 64, window: 2, payloadBytes: 16 * 1024, warmupMs: 1000, durationMs: 5000 },
  storm: { connections: 3000, concurrency: 50, payloadBytes: 128 },
  idle: { connections: FULL_IDLE_CONNECTIONS, concurrency: 200, settleMs: 2000 },
  caps: { connections: 1000, concurrency: 50, rounds: 5 },
  backpressure: { connections: 200, bytesPerClient: 2 * 1024 * 1024, settleMs: 500 },
} as const;

const QUICK = {
  steady: { connections: 50, messagesPerSecond: 500, payloadBytes: 128, warmupMs: 100, durationMs: 600 },
  saturationSmall: { connections: 8, window: 4, payloadBytes: 128, warmupMs: 100, durationMs: 300 },
  saturationLarge: { connections: 8, window: 2, payloadBytes: 16 * 1024, warmupMs: 100, durationMs: 300 },
  storm: { connections: 60, concurrency: 10, payloadBytes: 128 },
  idle: { connections: 100, concurrency: 50, settleMs: 100 },
  caps: { connections: 60, concurrency: 10, rounds: 2 },
  backpressure: { connections: 10, bytesPerClient: 256 * 1024, settleMs: 100 },
} as const;

export const SCENARIO_NAMES = ['steady', 'saturation', 'storm', 'idle', 'backpressure', 'caps'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export const BENCH_USAGE = `usage: npm run bench -- [--quick] [--peers ws-sidecar,ws-sidecar-native,nginx,haproxy,caddy,http-proxy,node-floor] [--scenarios steady,saturation,storm,idle,backpressure,caps] [--rounds N] [--out DIR] [--cpu-prof DIR]\n       npm run bench -- --fleet-cost [--quick]   (fleet mode's handshake latency and Redis round trips, needs redis-server)`;

export function parseBenchArgs(argv: readonly string[], defaultOutDir: string): BenchPlan {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      peers: { type: 'string', default: PEER_NAMES.join(',') },
      scenarios: { type: 'string', default: SCENARIO_NAMES.join(',') },
      rounds: { type: 'string', default: '1' },
      out: { type: 'string', default: defaultOutDir },
      'cpu-prof': { type: 'string' },
    },
    strict: true,
  });
  const peers = values.peers.split(',').map((name) => name.trim());
  const unknown = peers.filter((name) => !(PEER_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown peer(s) ${unknown.join(', ')}; ${BENCH_USAGE}`);
  const scenarios = values.scenarios.split(',').map((name) => name.trim());
  const unknownScenarios = scenarios.filter((name) => !(SCENARIO_NAMES as readonly string[]).includes(name));
  if (unknownScenarios.length > 0) throw new Error(`unknown scenario(s) ${unknownScenarios.join(', ')}; ${BENCH_USAGE}`);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error(`--rounds: "${values.rounds}" is not a whole number from 1 to 20; ${BENCH_USAGE}`);
  // direct is the baseline for added RTT: always measured first; the rest in the order given.
  const ordered = ['direct', ...new Set(peers.filter((name) => name !== 'direct'))] as PeerName[];
  const sizes = values.quick ? QUICK : FULL;
  return { quick: values.quick, peers: ordered, rounds, scenarios: scenarios as ScenarioName[], ...sizes, outDir: values.out, cpuProfileDir: values['cpu-prof'] };
}

/** The plan of round `index` (0-based): every other round runs the peers after direct in reverse, so drift falls on all. */
export function roundPlan(plan: BenchPlan, index: number): BenchPlan {
  if (index % 2 === 0) return plan;
  const [direct, ...rest] = plan.peers;
  return { ...plan, peers: [direct!, ...rest.reverse()] };
}
