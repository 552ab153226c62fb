// The FleetStore on node-redis, kept on a short leash: no offline queue (a call while
// disconnected fails at once), a bounded in-flight queue, a timeout on every call,
// reconnects with capped, jittered backoff that never give up, and scripts loaded once
// per connection (SCRIPT LOAD on connect, EVALSHA after; NOSCRIPT — a restarted or
// failed-over server — loads the script again and retries once within the same deadline).
// A connection that answers nothing for STALLED_TIMEOUTS calls in a row is replaced: a
// partition or a failover to another address leaves TCP up for many minutes (retransmits,
// keepalive), and node-redis would wait on it that long.
import { createHash, randomInt } from 'node:crypto';
import { createClient, ErrorReply } from 'redis';
import type { RedisTarget } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import { StoreError, type FleetStore, type StoreReply, type StoreScript, type StoreStateListener } from './store.js';

export interface RedisStoreOptions {
  readonly target: RedisTarget;
  /** Longest any one call may take before it counts as the store being down. */
  readonly timeoutMs: number;
  readonly logger: Logger;
}

/** Backoff: 100 ms doubling to a 5 s cap, each wait drawn from its upper half (jitter). */
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 5000;
/** In-flight calls beyond this fail at once: a stalled server cannot grow our memory. */
const MAX_IN_FLIGHT = 256;
/** Timeouts in a row, with no reply of any kind between them, that condemn the connection. */
export const STALLED_TIMEOUTS = 3;

function createStoreClient(options: RedisStoreOptions) {
  return createClient({
    url: options.target.url,
    disableOfflineQueue: true,
    commandsQueueMaxLength: MAX_IN_FLIGHT,
    socket: {
      connectTimeout: Math.max(1000, options.timeoutMs * 4),
      reconnectStrategy: reconnectDelayFor,
      keepAlive: true,
      keepAliveInitialDelay: 5000,
    },
  });
}

type RedisClient = ReturnType<typeof createStoreClient>;

export function reconnectDelayFor(retries: number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(retries, 16));
  return Math.round(ceiling / 2) + randomInt(Math.round(ceiling / 2) + 1);
}

export class RedisStore implements FleetStore {
  private client: RedisClient;
  private readonly shas = new Map<StoreScript, string>();
  private readonly listeners: StoreStateListener[] = [];
  private upNow = false;
  private errorCount = 0;
  private callCount = 0;
  private closed = false;
  private timeoutsInARow = 0;
  private replacements = 0;

  constructor(private readonly options: RedisStoreOptions) {
    this.client = this.newClient();
  }

  private newClient(): RedisClient {
    const { options } = this;
    const client = createStoreClient(options);
    // A replaced client's late events must not move the state of the one that took its place.
    const current = (): boolean => this.client === client;
    // node-redis reports every failed (re)connect here; without a listener it would throw.
    client.on('error', (err: Error) => {
      if (current()) this.setUp(false);
      options.logger.debug({ err }, 'fleet store connection error');
    });
    client.on('ready', () => {
      if (!current()) return;
      options.logger.info({ store: options.target.shown }, 'fleet store connected');
      void this.loadScripts().then(() => current() && this.setUp(client.isReady));
    });
    client.on('end', () => current() && this.setUp(false));
    client.on('reconnecting', () => current() && this.setUp(false));
    return client;
  }

  /** Connects in the background: nothing waits for the store, and it retries until closed. */
  start(): void {
    this.options.logger.info({ store: this.options.target.shown }, 'fleet store connecting');
    this.client.connect().catch((err: unknown) => {
      if (!this.closed) this.options.logger.warn({ err }, 'fleet store gave up connecting');
    });
  }

  get up(): boolean {
    return this.upNow;
  }

  get errors(): number {
    return this.errorCount;
  }

  get calls(): number {
    return this.callCount;
  }

  /** Connections given up on because they answered nothing (STALLED_TIMEOUTS in a row). */
  get replacedConnections(): number {
    return this.replacements;
  }

  onStateChange(listener: StoreStateListener): void {
    this.listeners.push(listener);
  }

  async run(script: StoreScript, keys: readonly string[], args: readonly (string | number)[], timeoutMs = this.options.timeoutMs): Promise<StoreReply> {
    const deadline = performance.now() + timeoutMs;
    const sha = this.shaOf(script);
    const argv = [String(keys.length), ...keys, ...args.map(String)];
    try {
      let reply: StoreReply;
      try {
        reply = await this.send(['EVALSHA', sha, ...argv], timeoutMs, script);
      } catch (err) {
        if (!(err instanceof ErrorReply && err.message.startsWith('NOSCRIPT'))) throw err;
        // The server lost its scripts (restart, failover, SCRIPT FLUSH): load it again.
        await this.send(['SCRIPT', 'LOAD', script.source], remaining(deadline), script);
        reply = await this.send(['EVALSHA', sha, ...argv], remaining(deadline), script);
      }
      this.timeoutsInARow = 0;
      this.setUp(true);
      return reply;
    } catch (err) {
      this.errorCount++;
      const failure = toStoreError(err, script.name);
      // Any answer, even an error, shows the connection alive; only silence counts.
      this.timeoutsInARow = failure.kind === 'timeout' ? this.timeoutsInARow + 1 : 0;
      if (this.timeoutsInARow >= STALLED_TIMEOUTS) this.replaceConnection();
      // An error reply is the script's or the data's fault, not the connection's.
      if (failure.kind !== 'reply') this.setUp(false);
      throw failure;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.setUp(false);
    // destroy(): nothing we could still send matters once the pod is going.
    if (this.client.isOpen) this.client.destroy();
  }

  /**
   * One command under our own deadline: the timer is ours (not the client's), so a call
   * settles in time whatever the connection does; aborting also drops it from the client's
   * queue if it was not written yet.
   */
  private send(args: string[], timeoutMs: number, script: StoreScript): Promise<StoreReply> {
    if (timeoutMs <= 0) return Promise.reject(new StoreError('timeout', script.name, 'deadline passed'));
    this.callCount++;
    const abort = new AbortController();
    return new Promise<StoreReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        abort.abort();
        reject(new StoreError('timeout', script.name, `no answer within ${Math.round(timeoutMs)} ms`));
      }, timeoutMs);
      this.client.sendCommand<StoreReply>(args, { abortSignal: abort.signal }).then(
        (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  /** Drops a connection that answers nothing and dials again, at once and then with backoff. */
  private replaceConnection(): void {
    if (this.closed) return;
    this.timeoutsInARow = 0;
    this.replacements++;
    this.options.logger.warn({ store: this.options.target.shown, timeouts: STALLED_TIMEOUTS }, 'fleet store answers nothing: replacing its connection');
    const stalled = this.client;
    this.client = this.newClient();
    this.setUp(false);
    // Its pending calls fail now (their own deadlines have mostly passed already).
    if (stalled.isOpen) stalled.destroy();
    this.start();
  }

  private shaOf(script: StoreScript): string {
    let sha = this.shas.get(script);
    if (sha === undefined) {
      sha = createHash('sha1').update(script.source).digest('hex');
      this.shas.set(script, sha);
    }
    return sha;
  }

  /** Each new connection loads the scripts seen so far once, so calls go straight to EVALSHA. */
  private async loadScripts(): Promise<void> {
    for (const script of this.shas.keys()) {
      try {
        await this.send(['SCRIPT', 'LOAD', script.source], this.options.timeoutMs * 4, script);
      } catch (err) {
        this.options.logger.debug({ err, script: script.name }, 'fleet store could not preload a script');
      }
    }
  }

  private setUp(up: boolean): void {
    if (this.upNow === up) return;
    this.upNow = up;
    if (!up && !this.closed) this.options.logger.warn({ store: this.options.target.shown }, 'fleet store down: deciding locally');
    else if (up) this.options.logger.info({ store: this.options.target.shown }, 'fleet store up');
    for (const listener of this.listeners) listener(up);
  }
}

function remaining(deadline: number): number {
  return deadline - performance.now();
}

function toStoreError(err: unknown, script: string): StoreError {
  if (err instanceof StoreError) return err;
  const error = err instanceof Error ? err : new Error(String(err));
  if (err instanceof ErrorReply) return new StoreError('reply', script, error.message, { cause: err });
  if (error.name === 'TimeoutError' || /timeout/i.test(error.message)) return new StoreError('timeout', script, 'timed out', { cause: err });
  return new StoreError('offline', script, error.message, { cause: err });
}
