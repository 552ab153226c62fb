// What fleet mode needs from a shared store: atomic scripts over the keys of one fleet,
// bounded in time, with an up/down state of its own. Redis implements it (redis-store.ts);
// every other fleet part talks to this interface only.

/** A server-side script, run atomically. Defined once per module, loaded once per connection. */
export interface StoreScript {
  /** Short name for logs and errors, e.g. `heartbeat`. */
  readonly name: string;
  /** Lua source. Keys are passed as KEYS, values as ARGV. */
  readonly source: string;
}

/** Why a store call failed: all of them mean "decide locally this time". */
export type StoreErrorKind = 'offline' | 'timeout' | 'reply';

export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    readonly script: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`fleet store ${script}: ${message}`, options);
    this.name = 'StoreError';
  }
}

/** Reply values as Redis sends them: integers, bulk strings, nested arrays, nil. */
export type StoreReply = number | string | null | StoreReply[];

export type StoreStateListener = (up: boolean) => void;

export interface FleetStore {
  /** True after the last call succeeded; false while disconnected or after a failed call. */
  readonly up: boolean;
  /**
   * Runs `script` with `keys` and `args`. Rejects with a StoreError (never hangs): when
   * offline at once, otherwise after at most `timeoutMs` (default: the store's timeout).
   */
  run(script: StoreScript, keys: readonly string[], args: readonly (string | number)[], timeoutMs?: number): Promise<StoreReply>;
  /** Called on every change of `up`. */
  onStateChange(listener: StoreStateListener): void;
  /** Failed calls since start: timeouts, offline rejections and error replies. */
  readonly errors: number;
  /** Calls sent to the server since start (the cost of fleet mode). */
  readonly calls: number;
  close(): Promise<void>;
}
