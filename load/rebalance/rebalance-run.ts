// The scale-out and rollout simulations of fleet mode: real sidecars sharing a real
// redis-server behind a round-robin front, reconnecting clients that count every message.
// Scale-out: clients on 2 pods, a third added; how long until the busiest pod is within
// 1.2× the mean, how often each client was moved, how hard the pods were hit, and whether
// anything was lost or cut (1006). Rollout: each pod replaced by one of a new revision; no
// rebalancing while two revisions are live, then the skew the rollout left corrected.
import { createClient } from 'redis';
import { RoundRobinFront } from '../../proxy/demo/round-robin-front.js';
import { RolloutClient, RolloutTally } from '../../proxy/demo/reconnecting-client.js';
import { waitUntil } from '../scenarios/steady.js';
import { startRedisServer, type RedisServer } from '../../test/helpers/redis-server.js';
import { startFleetPod, type FleetPod } from './fleet-pod.js';
import { BalanceSampler } from './balance-sampler.js';

export interface RebalanceParams {
  readonly clients: number;
  readonly sendIntervalMs: number;
  readonly fallbackDelayMs: number;
  /** Fleet and rebalance flags of every sidecar (without --rebalance: the scenario adds it). */
  readonly fleetArgs: readonly string[];
  /** Connections must be this old before they may move (the scenario waits for it). */
  readonly minAgeMs: number;
  /** How long to watch for the balance after the scale-out (or the rollout). */
  readonly watchMs: number;
}

export interface RebalanceResult {
  readonly scenario: 'scale-out' | 'rollout';
  readonly rebalance: boolean;
  readonly clients: number;
  /** From the third pod's start (or the rollout's end) until max ≤ 1.2 × mean; null: not within the watch. */
  readonly timeToBalancedMs: number | null;
  readonly countsAtStart: number[];
  readonly countsAtEnd: number[];
  readonly movesPerClientP99: number;
  readonly movesPerClientMax: number;
  readonly clientsMoved: number;
  readonly peakHandshakesPerSecondPerPod: number;
  readonly abnormalClosures: number;
  readonly lost: number;
  readonly sent: number;
  /** Rollout only: rebalancing closes while two revisions were live. */
  readonly rebalanceClosesDuringRollout: number;
  readonly rebalanceClosesTotal: number;
  /** Redis commands per second per pod while nothing happens (scale-out runs only). */
  readonly redisOpsPerSecondPerPodAtRest: number | null;
}

/** total_commands_processed of the server (each INFO call counts one itself). */
async function redisCommands(redis: RedisServer): Promise<number> {
  const client = createClient({ url: redis.url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const info = await client.info('stats');
    return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
  } finally {
    await client.destroy();
  }
}

interface Fleet {
  readonly redis: RedisServer;
  readonly balancer: RoundRobinFront;
  readonly port: number;
  readonly pods: FleetPod[];
  readonly clients: RolloutClient[];
  readonly tally: RolloutTally;
}

async function startFleet(params: RebalanceParams, rebalance: boolean, podCount: number): Promise<Fleet> {
  const redis = await startRedisServer();
  const balancer = new RoundRobinFront();
  const port = await balancer.listen();
  const args = [...params.fleetArgs, ...(rebalance ? ['--rebalance'] : [])];
  const pods = await Promise.all(Array.from({ length: podCount }, (_, i) => startFleetPod(`pod-${i + 1}`, 'r1', redis.url, args)));
  for (const pod of pods) balancer.add(pod.port);
  const tally = new RolloutTally();
  const clients = Array.from({ length: params.clients }, () => new RolloutClient({ url: `ws://127.0.0.1:${port}/`, sendIntervalMs: params.sendIntervalMs, fallbackDelayMs: params.fallbackDelayMs }, tally));
  for (let i = 0; i < clients.length; i += 100) await Promise.all(clients.slice(i, i + 100).map((client) => client.start()));
  return { redis, balancer, port, pods, clients, tally };
}

async function stopFleet(fleet: Fleet): Promise<void> {
  await Promise.all(fleet.clients.map((client) => client.stop()));
  await fleet.balancer.close();
  await Promise.all(fleet.pods.map((pod) => pod.kill()));
  await fleet.redis.stop();
}

const moves = (client: RolloutClient): number => client.closesByReason.get('rebalancing') ?? 0;

async function finish(fleet: Fleet, sampler: BalanceSampler, base: Omit<RebalanceResult, 'movesPerClientP99' | 'movesPerClientMax' | 'clientsMoved' | 'peakHandshakesPerSecondPerPod' | 'abnormalClosures' | 'lost' | 'sent' | 'countsAtEnd' | 'rebalanceClosesTotal'>): Promise<RebalanceResult> {
  // Clients keep sending (and may still be moved), so "lost" is what stays unacknowledged for
  // over 10 s (a moved client resends on its next connection within ~2 s).
  const stale = (): number => fleet.clients.reduce((sum, client) => sum + client.unacknowledgedOlderThan(10_000), 0);
  await waitUntil(() => fleet.clients.every((client) => client.isOpen && client.unacknowledged === 0), 15_000);
  const perClient = fleet.clients.map(moves).sort((a, b) => a - b);
  const counts = await Promise.all(fleet.pods.map((pod) => pod.read()));
  return {
    ...base,
    countsAtEnd: counts.map((count) => count.active),
    movesPerClientP99: perClient[Math.min(perClient.length - 1, Math.ceil(perClient.length * 0.99) - 1)] ?? 0,
    movesPerClientMax: perClient.at(-1) ?? 0,
    clientsMoved: perClient.filter((count) => count > 0).length,
    peakHandshakesPerSecondPerPod: sampler.peakAcceptsPerSecond(),
    abnormalClosures: fleet.tally.abnormalClosures,
    lost: stale(),
    sent: fleet.tally.sent,
    rebalanceClosesTotal: fleet.clients.reduce((sum, client) => sum + moves(client), 0),
  };
}

export async function runScaleOut(params: RebalanceParams, rebalance: boolean): Promise<RebalanceResult> {
  const fleet = await startFleet(params, rebalance, 2);
  const sampler = new BalanceSampler(() => fleet.pods);
  try {
    // Let the connections reach the minimum age, as a real fleet's would be; the fleet is at
    // rest meanwhile, so this is also where Redis's own command count gives the cost per pod.
    const restStart = { at: performance.now(), commands: await redisCommands(fleet.redis) };
    await new Promise((resolve) => setTimeout(resolve, params.minAgeMs + 500));
    const restOpsPerSecondPerPod = (await redisCommands(fleet.redis) - restStart.commands - 3) / ((performance.now() - restStart.at) / 1000) / fleet.pods.length;
    const countsAtStart = (await Promise.all(fleet.pods.map((pod) => pod.read()))).map((count) => count.active);
    const third = await startFleetPod('pod-3', 'r1', fleet.redis.url, [...params.fleetArgs, ...(rebalance ? ['--rebalance'] : [])]);
    fleet.pods.push(third);
    fleet.balancer.add(third.port);
    const startedAt = performance.now();
    sampler.start();
    const balancedAt = await sampler.waitForBalance(params.watchMs);
    sampler.stop();
    return await finish(fleet, sampler, {
      scenario: 'scale-out',
      rebalance,
      clients: params.clients,
      timeToBalancedMs: balancedAt === undefined ? null : balancedAt - startedAt,
      countsAtStart: [...countsAtStart, 0],
      rebalanceClosesDuringRollout: 0,
      redisOpsPerSecondPerPodAtRest: Math.round(restOpsPerSecondPerPod * 100) / 100,
    });
  } finally {
    sampler.stop();
    await stopFleet(fleet);
  }
}

/** Each pod replaced by one of revision r2, maxSurge 1 (drains overlap), then the skew watched. */
export async function runRolloutWithRebalance(params: RebalanceParams): Promise<RebalanceResult> {
  const fleet = await startFleet(params, true, 3);
  const sampler = new BalanceSampler(() => fleet.pods);
  const args = [...params.fleetArgs, '--rebalance'];
  try {
    await new Promise((resolve) => setTimeout(resolve, params.minAgeMs + 500));
    const countsAtStart = (await Promise.all(fleet.pods.map((pod) => pod.read()))).map((count) => count.active);
    sampler.start();
    const terminations: Array<Promise<void>> = [];
    for (let i = 0; i < 3; i++) {
      const replacement = await startFleetPod(`pod-${i + 4}`, 'r2', fleet.redis.url, args);
      fleet.balancer.add(replacement.port);
      const old = fleet.pods[i]!;
      fleet.balancer.remove(old.port);
      fleet.pods[i] = replacement;
      terminations.push(old.terminate());
    }
    await Promise.all(terminations);
    const duringRollout = fleet.clients.reduce((sum, client) => sum + moves(client), 0);
    const endedAt = performance.now();
    const balancedAt = await sampler.waitForBalance(params.watchMs + params.minAgeMs);
    sampler.stop();
    return await finish(fleet, sampler, {
      scenario: 'rollout',
      rebalance: true,
      clients: params.clients,
      timeToBalancedMs: balancedAt === undefined ? null : Math.max(0, balancedAt - endedAt),
      countsAtStart,
      rebalanceClosesDuringRollout: duringRollout,
      redisOpsPerSecondPerPodAtRest: null,
    });
  } finally {
    sampler.stop();
    await stopFleet(fleet);
  }
}
