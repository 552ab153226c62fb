// One rolling restart: 3 pods behind the balancer, N reconnecting clients, and
// each pod replaced in turn the way a Deployment with maxSurge 1 does it: start
// the new pod, and once it is up take the old one out of rotation and SIGTERM
// it, then go on to the next without waiting for the old one's drain to end.
import { reconnectRate, RolloutClient, RolloutTally } from '../../proxy/demo/reconnecting-client.js';
import { RoundRobinFront } from '../../proxy/demo/round-robin-front.js';
import { nextSourceAddress } from '../client-pool.js';
import { startPod, type Pod } from './pod.js';
import { waitUntil } from '../scenarios/steady.js';

export type RolloutMode = 'sidecar' | 'baseline';

export interface RolloutParams {
  readonly pods: number;
  readonly clients: number;
  readonly sendIntervalMs: number;
  readonly fallbackDelayMs: number;
  /** Sidecar flags for the drain (spread, reconnect hint base). */
  readonly sidecarArgs: readonly string[];
  /**
   * Wait for each old pod to be gone before replacing the next (a Deployment with
   * minReadySeconds ≥ the drain); otherwise drains overlap as with plain maxSurge 1.
   */
  readonly sequential: boolean;
  /** How long clients may take to come back and get every ack after the last restart. */
  readonly settleTimeoutMs: number;
}

export interface RolloutResult {
  readonly mode: RolloutMode;
  readonly sequential: boolean;
  readonly clients: number;
  readonly sent: number;
  readonly acknowledged: number;
  /** Sent and never acknowledged, even after resending: lost for the application. */
  readonly lost: number;
  readonly unackedAtClose: number;
  readonly abnormalClosures: number;
  readonly closeCodes: Record<string, number>;
  readonly hintedCloses: number;
  readonly failedConnects: number;
  readonly reconnects: number;
  readonly reconnectPeakPerSecond: number;
  readonly reconnectMeanPerSecond: number;
  /** The busiest 100 ms: a burst that 1 s buckets smooth over. */
  readonly reconnectPeakPer100Ms: number;
  /** From the first pod's termination until every client is back with every ack. */
  readonly totalTimeMs: number;
  readonly settled: boolean;
}

export async function runRollout(mode: RolloutMode, params: RolloutParams): Promise<RolloutResult> {
  const sidecarArgs = mode === 'sidecar' ? params.sidecarArgs : undefined;
  const balancer = new RoundRobinFront();
  const port = await balancer.listen();
  const pods: Pod[] = await Promise.all(Array.from({ length: params.pods }, () => startPod(sidecarArgs)));
  for (const pod of pods) balancer.add(pod.port);
  const tally = new RolloutTally();
  const clients = Array.from({ length: params.clients }, () => new RolloutClient({ url: `ws://127.0.0.1:${port}/`, localAddress: nextSourceAddress, sendIntervalMs: params.sendIntervalMs, fallbackDelayMs: params.fallbackDelayMs }, tally));
  try {
    for (let i = 0; i < clients.length; i += 100) await Promise.all(clients.slice(i, i + 100).map((client) => client.start()));
    const startedAt = performance.now();
    const terminations: Array<Promise<void>> = [];
    for (let i = 0; i < pods.length; i++) {
      const replacement = await startPod(sidecarArgs);
      balancer.add(replacement.port);
      const old = pods[i]!;
      balancer.remove(old.port);
      pods[i] = replacement;
      terminations.push(old.terminate());
      if (params.sequential) await terminations.at(-1);
    }
    await Promise.all(terminations);
    await waitUntil(() => clients.every((client) => client.isOpen && client.unacknowledged === 0), params.settleTimeoutMs);
    const endedAt = performance.now();
    const settled = clients.every((client) => client.isOpen && client.unacknowledged === 0);
    const lost = clients.reduce((sum, client) => sum + client.unacknowledged, 0);
    await Promise.all(clients.map((client) => client.stop()));
    const rate = reconnectRate(tally.reconnectTimes, 1000);
    return {
      mode,
      sequential: params.sequential,
      clients: params.clients,
      sent: tally.sent,
      acknowledged: tally.acknowledged,
      lost,
      unackedAtClose: tally.unackedAtClose,
      abnormalClosures: tally.abnormalClosures,
      closeCodes: Object.fromEntries([...tally.closeCodes].map(([code, count]) => [String(code), count])),
      hintedCloses: tally.hintedCloses,
      failedConnects: tally.failedConnects,
      reconnects: tally.reconnectTimes.length,
      reconnectPeakPerSecond: rate.peak,
      reconnectMeanPerSecond: rate.mean,
      reconnectPeakPer100Ms: reconnectRate(tally.reconnectTimes, 100).peak,
      totalTimeMs: endedAt - startedAt,
      settled,
    };
  } finally {
    await Promise.all(clients.map((client) => client.stop()));
    await balancer.close();
    await Promise.all(pods.map((pod) => pod.kill()));
  }
}
