// The watchable rollout: pods behind the round-robin front, a few hundred reconnecting clients
// sending numbered messages, and the actions of the page: roll the pods (maxSurge 1, as a
// Deployment does), kill one (no drain), scale out, and whether new pods get a sidecar.
import { DemoPod } from './demo-pod.js';
import { reconnectRate, RolloutClient, RolloutTally } from './reconnecting-client.js';
import { RoundRobinFront } from './round-robin-front.js';

export interface SimulationOptions {
  readonly pods: number;
  readonly clients: number;
  readonly sendIntervalMs: number;
  /** Reconnect delay of a close without a hint (a 1006): a plain client's fixed back-off. */
  readonly fallbackDelayMs: number;
  /** Port of the front (0: any). */
  readonly frontPort?: number;
  /** Fleet mode: the sidecars share this Redis, see their fleet and rebalance after a scale out. */
  readonly fleetRedis?: string;
}

export type Action = 'idle' | 'starting' | 'rolling' | 'killing' | 'scaling';

/** One rollout, as the difference of the totals from its start to when every client was back. */
export interface RolloutRecord {
  readonly n: number;
  readonly withSidecars: boolean;
  readonly closes: Record<string, number>;
  readonly lostAtClose: number;
  readonly reconnects: number;
  readonly reconnectPeakPerSecond: number;
  readonly durationMs: number;
}

const ACK = /"text":"(\d+)"/;
const PROBE_INTERVAL_MS = 200;
const SETTLE_TIMEOUT_MS = 20_000;

export class RolloutSimulation {
  readonly tally = new RolloutTally();
  readonly front = new RoundRobinFront(PROBE_INTERVAL_MS);
  readonly pods: DemoPod[] = [];
  readonly rollouts: RolloutRecord[] = [];
  /** The switch: pods started from now on get a sidecar, and rollouts drain through it. */
  withSidecars = true;
  action: Action = 'idle';
  frontPort = 0;
  private clients: RolloutClient[] = [];
  private nextPod = 1;
  /** Each roll starts pods of a new revision (the rebalancer waits while two are live). */
  private revision = 1;

  constructor(readonly options: SimulationOptions) {}

  async start(): Promise<void> {
    this.action = 'starting';
    this.frontPort = await this.front.listen(this.options.frontPort ?? 0);
    await Promise.all(Array.from({ length: this.options.pods }, () => this.addPod()));
    this.clients = Array.from({ length: this.options.clients }, (_, i) => {
      const url = `ws://127.0.0.1:${this.frontPort}/chat?room=sim-${i}`;
      // Alone in its room, a client gets its own message back: {"from":…,"text":"<seq>"}.
      const ackOf = (data: string): number => Number(ACK.exec(data)?.[1] ?? NaN);
      return new RolloutClient({ url, ackOf, sendIntervalMs: this.options.sendIntervalMs, fallbackDelayMs: this.options.fallbackDelayMs }, this.tally);
    });
    for (let i = 0; i < this.clients.length; i += 50) await Promise.all(this.clients.slice(i, i + 50).map((client) => client.start()));
    this.action = 'idle';
  }

  get connected(): number {
    return this.clients.filter((client) => client.isOpen).length;
  }

  get outstanding(): number {
    return this.clients.reduce((sum, client) => sum + client.unacknowledged, 0);
  }

  setSending(sending: boolean): void {
    for (const client of this.clients) client.sending = sending;
  }

  get sending(): boolean {
    return this.clients[0]?.sending ?? true;
  }

  /** Replaces every pod: start the new one, once it is ready take the old one out and terminate it. */
  roll(): Promise<void> {
    return this.exclusive('rolling', async () => {
      const startedAt = performance.now();
      const before = this.snapshot();
      const withSidecars = this.withSidecars;
      const terminations: Array<Promise<void>> = [];
      const connectsBefore = this.clients.map((client) => client.connects);
      this.revision++;
      for (const old of [...this.pods]) {
        await this.addPod();
        this.front.remove(old.port);
        this.pods.splice(this.pods.indexOf(old), 1);
        // With the sidecars bypassed nothing drains: the app stops, the pod is gone.
        terminations.push(withSidecars ? old.terminate() : old.kill());
      }
      await Promise.all(terminations);
      await this.settled(connectsBefore);
      const after = this.snapshot();
      const closes: Record<string, number> = {};
      for (const [code, count] of Object.entries(after.closes)) if (count - (before.closes[code] ?? 0) > 0) closes[code] = count - (before.closes[code] ?? 0);
      const times = this.tally.reconnectTimes.slice(before.reconnects);
      this.rollouts.push({
        n: this.rollouts.length + 1,
        withSidecars,
        closes,
        lostAtClose: after.lostAtClose - before.lostAtClose,
        reconnects: times.length,
        reconnectPeakPerSecond: reconnectRate(times, 1000).peak,
        durationMs: Math.round(performance.now() - startedAt),
      });
    });
  }

  /** The oldest pod dies without a drain. */
  kill(): Promise<void> {
    return this.exclusive('killing', async () => {
      const victim = this.pods.shift();
      if (!victim) return;
      this.front.remove(victim.port);
      await victim.kill();
    });
  }

  scaleOut(): Promise<void> {
    return this.exclusive('scaling', () => this.addPod());
  }

  /** Closes of open connections by their reason's prefix (`draining`, `rebalancing`, or the code). */
  closesByReason(): Record<string, number> {
    const total: Record<string, number> = {};
    for (const client of this.clients) for (const [reason, count] of client.closesByReason) total[reason] = (total[reason] ?? 0) + count;
    return total;
  }

  /** Reconnects in the last second. */
  reconnectsPerSecond(now = performance.now()): number {
    const times = this.tally.reconnectTimes;
    let count = 0;
    for (let i = times.length - 1; i >= 0 && times[i]! > now - 1000; i--) count++;
    return count;
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.stop()));
    await this.front.close();
    await Promise.all(this.pods.map((pod) => pod.kill()));
  }

  private snapshot(): { closes: Record<string, number>; lostAtClose: number; reconnects: number } {
    return {
      closes: Object.fromEntries([...this.tally.closeCodes].map(([code, count]) => [String(code), count])),
      lostAtClose: this.tally.unackedAtClose,
      reconnects: this.tally.reconnectTimes.length,
    };
  }

  private async addPod(): Promise<void> {
    const fleet = this.options.fleetRedis ? { redisUrl: this.options.fleetRedis, revision: `rev-${this.revision}` } : undefined;
    const pod = new DemoPod(`pod-${this.nextPod++}`, this.withSidecars, fleet);
    await pod.start();
    this.pods.push(pod);
    this.front.add(pod.port, pod.readyUrl);
    await this.until(() => this.front.isReady(pod.port), 10_000);
  }

  /** Every pod was replaced, so every client has reconnected since; all open, acks flowing. */
  private settled(connectsBefore: readonly number[]): Promise<void> {
    return this.until(
      () => this.clients.every((client, i) => client.isOpen && client.connects > connectsBefore[i]!) && this.outstanding <= this.clients.length,
      SETTLE_TIMEOUT_MS,
    );
  }

  private async until(condition: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!condition() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  private async exclusive(action: Action, run: () => Promise<void>): Promise<void> {
    if (this.action !== 'idle') throw new Error(`busy: ${this.action}`);
    this.action = action;
    try {
      await run();
    } finally {
      this.action = 'idle';
    }
  }
}
