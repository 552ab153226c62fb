// A client as the sidecar expects them to be written: it sends numbered
// messages, the app's answer acknowledges each, and when the connection closes it
// reconnects after the `delay_ms` of the close reason (or a fixed fallback when
// there is none, e.g. after a 1006) and resends whatever was not acknowledged.
// Shared by `npm run demo -- --pods` and the rollout load test (load/rollout/).
import { WebSocket } from 'ws';

export interface RolloutClientOptions {
  /** e.g. `ws://127.0.0.1:8080/`. */
  readonly url: string;
  readonly sendIntervalMs: number;
  /** Reconnect delay when the close carries no hint. */
  readonly fallbackDelayMs: number;
  /** Source address per connection (the load test spreads them over 127.0.0.x). */
  readonly localAddress?: () => string;
  /** The sequence number a message from the app acknowledges (default: the message is the number). */
  readonly ackOf?: (data: string) => number;
}

/** Counters shared by all clients of a run. */
export class RolloutTally {
  sent = 0;
  acknowledged = 0;
  /** Messages without an ack when their connection closed (resent on the next one). */
  unackedAtClose = 0;
  /** Closures after the connection was open, by close code. */
  readonly closeCodes = new Map<number, number>();
  /** Connection attempts that failed before the 101 (refused, 503...). */
  failedConnects = 0;
  /** performance.now() of every successful reconnect (not the first connect). */
  readonly reconnectTimes: number[] = [];
  /** delay_ms hints received. */
  hintedCloses = 0;

  get abnormalClosures(): number {
    return this.closeCodes.get(1006) ?? 0;
  }
}

const DELAY_HINT = /delay_ms=(\d+)/;

export class RolloutClient {
  private ws: WebSocket | undefined;
  private nextSeq = 1;
  /** Sent and not yet acknowledged: seq → payload. */
  private readonly outstanding = new Map<number, string>();
  /** performance.now() of each outstanding message's first send. */
  private readonly sentAt = new Map<number, number>();
  /** Closes of an open connection, by close-reason prefix (e.g. `rebalancing`, `draining`). */
  readonly closesByReason = new Map<string, number>();
  /** Connections opened so far (the first included). */
  connects = 0;
  private timer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  /** False: stay connected, send nothing new (what was outstanding is still resent). */
  sending = true;
  private stopped: (() => void) | undefined;

  constructor(
    private readonly options: RolloutClientOptions,
    private readonly tally: RolloutTally,
  ) {}

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  get unacknowledged(): number {
    return this.outstanding.size;
  }

  /** Messages still without an ack this long after they were first sent. */
  unacknowledgedOlderThan(ms: number): number {
    const before = performance.now() - ms;
    let count = 0;
    for (const at of this.sentAt.values()) if (at < before) count++;
    return count;
  }

  /** Resolves once the first connection is open. */
  start(): Promise<void> {
    return new Promise((resolve) => this.connect(resolve));
  }

  /** Stops sending, closes with 1000 and resolves when closed. */
  stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    clearTimeout(this.reconnectTimer);
    return new Promise((resolve) => {
      if (!this.ws || this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.stopped = resolve;
      if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
      else this.ws.terminate();
    });
  }

  private connect(onOpen?: () => void): void {
    if (this.stopping) return;
    const localAddress = this.options.localAddress?.();
    const ws = new WebSocket(this.options.url, { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
    this.ws = ws;
    let opened = false;
    ws.on('error', () => undefined);
    ws.on('open', () => {
      opened = true;
      if (this.connects++ > 0) this.tally.reconnectTimes.push(performance.now());
      for (const payload of this.outstanding.values()) ws.send(payload);
      this.timer = setInterval(() => this.sendNext(), this.options.sendIntervalMs);
      onOpen?.();
    });
    ws.on('message', (data) => {
      const seq = this.options.ackOf ? this.options.ackOf(data.toString()) : Number(data.toString());
      this.sentAt.delete(seq);
      if (this.outstanding.delete(seq)) this.tally.acknowledged++;
    });
    ws.on('close', (code, reason) => {
      clearInterval(this.timer);
      if (this.stopping) return this.stopped?.();
      let delayMs = this.options.fallbackDelayMs;
      if (opened) {
        this.tally.closeCodes.set(code, (this.tally.closeCodes.get(code) ?? 0) + 1);
        this.tally.unackedAtClose += this.outstanding.size;
        const cause = reason.toString().split(';')[0] || String(code);
        this.closesByReason.set(cause, (this.closesByReason.get(cause) ?? 0) + 1);
        const hint = DELAY_HINT.exec(reason.toString());
        if (hint) {
          this.tally.hintedCloses++;
          delayMs = Number(hint[1]);
        }
      } else {
        this.tally.failedConnects++;
      }
      this.reconnectTimer = setTimeout(() => this.connect(onOpen && !opened ? onOpen : undefined), delayMs);
    });
  }

  private sendNext(): void {
    if (!this.sending) return;
    const seq = this.nextSeq++;
    const payload = String(seq);
    this.outstanding.set(seq, payload);
    this.sentAt.set(seq, performance.now());
    this.tally.sent++;
    this.ws!.send(payload);
  }
}

/**
 * Reconnects per bucket while reconnects happen (buckets from the first to the
 * last): the busiest bucket and the average over those buckets.
 */
export function reconnectRate(times: readonly number[], bucketMs: number): { peak: number; mean: number } {
  if (times.length === 0) return { peak: 0, mean: 0 };
  const first = Math.min(...times);
  const count = Math.floor((Math.max(...times) - first) / bucketMs) + 1;
  const buckets = new Array<number>(count).fill(0);
  for (const time of times) buckets[Math.floor((time - first) / bucketMs)]!++;
  return { peak: Math.max(...buckets), mean: times.length / count };
}
