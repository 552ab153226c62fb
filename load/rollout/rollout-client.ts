// A client as the sidecar expects them to be written: it sends numbered
// messages, the app's echo acknowledges each, and when the connection closes it
// reconnects after the `delay_ms` of the close reason (or a fixed fallback when
// there is none, e.g. after a 1006) and resends whatever was not acknowledged.
import { WebSocket } from 'ws';
import { nextSourceAddress } from '../client-pool.js';

export interface RolloutClientOptions {
  readonly port: number;
  readonly sendIntervalMs: number;
  /** Reconnect delay when the close carries no hint. */
  readonly fallbackDelayMs: number;
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
  private connects = 0;
  /** Closes of an open connection, by close-reason prefix (e.g. `rebalancing`, `draining`). */
  readonly closesByReason = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
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
    return new Promise((resolve) => {
      if (!this.ws || this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.stopped = resolve;
      if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
      else this.ws.terminate();
    });
  }

  private connect(onOpen?: () => void): void {
    const ws = new WebSocket(`ws://127.0.0.1:${this.options.port}/`, { localAddress: nextSourceAddress(), perMessageDeflate: false });
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
      const seq = Number(data.toString());
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
      setTimeout(() => this.connect(onOpen && !opened ? onOpen : undefined), delayMs);
    });
  }

  private sendNext(): void {
    const seq = this.nextSeq++;
    const payload = String(seq);
    this.outstanding.set(seq, payload);
    this.sentAt.set(seq, performance.now());
    this.tally.sent++;
    this.ws!.send(payload);
  }
}
