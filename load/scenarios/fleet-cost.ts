// What fleet mode costs (`npm run bench -- --fleet-cost`): handshake latency with and without
// --fleet-redis (the same app, alternating rounds in one run), Redis commands per handshake
// and per pod per second at rest, read from the redis-server's own command counter.
import { createClient } from 'redis';
import { WebSocket } from 'ws';
import { startRedisServer, type RedisServer } from '../../test/helpers/redis-server.js';
import { startSidecarProcess } from '../../test/helpers/sidecar-process.js';
import { startNodeChild } from '../node-child.js';
import { SIDECAR_CLI } from '../peers.js';

export interface FleetCostParams {
  readonly handshakes: number;
  readonly rounds: number;
  readonly restMs: number;
}

export interface FleetCostRound {
  readonly fleet: boolean;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Redis commands during the handshakes, less the heartbeats of that time, per handshake. */
  readonly redisCommandsPerHandshake: number | null;
}

export interface FleetCostResult {
  readonly rounds: FleetCostRound[];
  /** Default --fleet-heartbeat (2 s): commands per second of one idle pod. */
  readonly redisOpsPerSecondAtRest: number;
}

/**
 * Round trips the sidecars made: the server's calls of EVALSHA, EVAL and SCRIPT (every fleet
 * call is one script; the commands a script runs inside are not round trips).
 */
async function commands(redis: RedisServer): Promise<number> {
  const client = createClient({ url: redis.url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const stats = await client.info('commandstats');
    let calls = 0;
    for (const match of stats.matchAll(/^cmdstat_(evalsha|eval|script):calls=(\d+)/gm)) calls += Number(match[2]);
    return calls;
  } finally {
    await client.destroy();
  }
}
/** A reading is an INFO: it adds no script call of its own. */
const READING_COMMANDS = 0;

function handshake(port: number): Promise<number> {
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    ws.once('error', reject);
    ws.once('open', () => {
      const ms = performance.now() - startedAt;
      ws.once('close', () => resolve(ms));
      ws.close(1000);
    });
  });
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * q) - 1)]!;

export async function runFleetCost(params: FleetCostParams): Promise<FleetCostResult> {
  const redis = await startRedisServer();
  const app = await startNodeChild('./echo-app.ts');
  const rounds: FleetCostRound[] = [];
  let restOps = 0;
  try {
    for (let round = 0; round < params.rounds; round++) {
      // Alternate which mode goes first, so drift in the machine's load hits both alike.
      for (const fleet of round % 2 === 0 ? [false, true] : [true, false]) {
        const args = ['--upstream', `http://127.0.0.1:${app.port}`, '--max-connections', '0', ...(fleet ? ['--fleet-redis', redis.url, '--pod-name', `cost-${round}`] : [])];
        const sidecar = await startSidecarProcess(args, {}, SIDECAR_CLI);
        try {
          if (fleet) await sidecar.waitForLog((line) => line.msg === 'fleet store up');
          for (let i = 0; i < 20; i++) await handshake(sidecar.dataPort); // warm-up
          if (fleet && round === 0) {
            const before = await commands(redis);
            await new Promise((resolve) => setTimeout(resolve, params.restMs));
            restOps = (await commands(redis) - before - READING_COMMANDS) / (params.restMs / 1000);
          }
          const before = await commands(redis);
          const startedAt = performance.now();
          const latencies: number[] = [];
          for (let i = 0; i < params.handshakes; i++) latencies.push(await handshake(sidecar.dataPort));
          const seconds = (performance.now() - startedAt) / 1000;
          const delta = (await commands(redis)) - before - READING_COMMANDS;
          latencies.sort((a, b) => a - b);
          rounds.push({
            fleet,
            p50Ms: Math.round(quantile(latencies, 0.5) * 1000) / 1000,
            p99Ms: Math.round(quantile(latencies, 0.99) * 1000) / 1000,
            redisCommandsPerHandshake: fleet ? Math.round(((delta - seconds * restOps) / params.handshakes) * 1000) / 1000 : null,
          });
        } finally {
          sidecar.kill('SIGKILL');
          await sidecar.exited;
        }
      }
    }
  } finally {
    await app.stop();
    await redis.stop();
  }
  return { rounds, redisOpsPerSecondAtRest: Math.round(restOps * 100) / 100 };
}

export function fleetCostMarkdown(result: FleetCostResult): string {
  const pick = (fleet: boolean, key: 'p50Ms' | 'p99Ms'): number[] => result.rounds.filter((r) => r.fleet === fleet).map((r) => r[key]).sort((a, b) => a - b);
  const summary = (values: number[]): string => `${values[0]!.toFixed(2)} / ${values[Math.floor((values.length - 1) / 2)]!.toFixed(2)}`;
  const perHandshake = result.rounds.filter((r) => r.fleet).map((r) => r.redisCommandsPerHandshake!.toFixed(2)).join(', ');
  return [
    '## fleet mode cost (handshake = open, then close 1000; sequential)',
    '',
    '| | handshake p50 ms (min / median of rounds) | handshake p99 ms (min / median) |',
    '|---|---|---|',
    `| fleet mode off | ${summary(pick(false, 'p50Ms'))} | ${summary(pick(false, 'p99Ms'))} |`,
    `| fleet mode on (--fleet-redis, no fleet caps) | ${summary(pick(true, 'p50Ms'))} | ${summary(pick(true, 'p99Ms'))} |`,
    '',
    `Redis round trips per handshake (each round): ${perHandshake}. Redis round trips per second of one pod at rest (--fleet-heartbeat 2; each heartbeat script runs 5 commands inside): ${result.redisOpsPerSecondAtRest}.`,
  ].join('\n') + '\n';
}
