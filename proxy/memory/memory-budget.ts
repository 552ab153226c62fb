// The memory budget (--max-memory), Envoy's overload manager in small: memory is
// sampled on a timer and the budget's state follows it with hysteresis.
//   normal → refusing   at 80%: new upgrades are refused as at the cap, /readyz fails
//   refusing → throttling at 90%: the sources whose sinks hold the most queued
//                        bytes stop reading (the kernel keeps the rest, not us),
//                        and upstream reads shrink from 16 to 4 KiB
//   throttling → refusing below 80%, refusing → normal below 70%
// While not normal, a full V8 collection runs every 2 s at most ("shrink heap"):
// buffers written out since are freed, so "used" can fall and the state recover.
// What is compared is "used" (memory-signal.ts): RSS, less the pages the process
// is known to have freed and kept — RSS alone may never fall, as V8 and glibc
// keep freed pages for reuse, and a pod unready for good is an outage too.
import { MEMORY_STATE_NAMES } from '../metrics/metrics.js';
import type { HeapCollector } from './heap-collector.js';
import type { MemorySample, MemorySignal } from './memory-signal.js';

export const MEMORY_STATES = MEMORY_STATE_NAMES;
export type MemoryState = (typeof MEMORY_STATES)[number];

/** Shares of the budget: enter a state at or above its `enter`, leave it below its `leave`. */
export const THRESHOLDS = {
  refusing: { enter: 0.8, leave: 0.7 },
  throttling: { enter: 0.9, leave: 0.8 },
} as const;

/** Reason shown by /readyz and /status, and the `error` of a refused upgrade. */
export const MEMORY_PRESSURE = 'memory_pressure';

export const SAMPLE_INTERVAL_MS = 250;
/** Under pressure, at most one full collection this often (a pause of ~10–50 ms on a 100 MiB heap). */
export const COLLECT_EVERY_MS = 2000;

/** What the data path does for the budget (implemented there, wired in sidecar.ts). */
export interface ReadThrottle {
  /** Bytes queued for sinks that are slow to read, on both data planes. */
  queuedBytes(): number;
  /** Bytes the native engine holds (outside V8's accounting). */
  nativeQueuedBytes(): number;
  /** Connections held now (tunnels and handshakes): each has native memory outside V8. */
  connections(): number;
  /**
   * One throttling step: stops reading from the sources whose sinks hold the most queued
   * bytes, heaviest first, until those hold at least `bytes` (or none is left), and reads
   * smaller. A paused source whose sink has emptied since reads again (one read per step
   * at most for a slow reader; a reader that came back is not starved). Returns how many it paused.
   */
  throttle(bytes: number): number;
  /** Lets every source it paused read again, at the usual read size; returns how many. */
  resumeAll(): number;
}

/** The budget as /status shows it. */
export interface MemoryStatus {
  readonly state: MemoryState;
  /** 0 = no budget. */
  readonly budgetBytes: number;
  readonly usedBytes: number;
  readonly rssBytes: number;
  readonly queuedBytes: number;
  /** Where the budget came from: --max-memory, the cgroup limit (auto), or off. */
  readonly source: 'flag' | 'cgroup' | 'off';
  readonly limitBytes?: number;
}

export interface MemoryBudgetEvents {
  stateChanged(from: MemoryState, to: MemoryState, sample: MemorySample): void;
  /** Sources paused by the throttle (counted, not logged each time). */
  readsPaused(count: number): void;
  /** A full collection ran. */
  collected(): void;
}

export class MemoryBudget {
  private current: MemoryState = 'normal';
  private last: MemorySample | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastCollectMs = 0;

  constructor(
    /** 0 = no budget: the state stays normal and nothing is sampled. */
    readonly budgetBytes: number,
    private readonly signal: MemorySignal,
    private readonly throttle: ReadThrottle,
    private readonly events: MemoryBudgetEvents,
    /** Undefined where V8 gives no collector: recovery then waits for V8's own collections. */
    private readonly collect: HeapCollector | undefined,
  ) {}

  get state(): MemoryState {
    return this.current;
  }

  /** The last sample's "used" bytes (0 before the first, or with no budget). */
  get usedBytes(): number {
    return this.last?.usedBytes ?? 0;
  }

  get lastSample(): MemorySample | undefined {
    return this.last;
  }

  status(source: MemoryStatus['source'], limitBytes: number | undefined): MemoryStatus {
    const rss = this.last?.rssBytes ?? process.memoryUsage.rss();
    return {
      state: this.current,
      budgetBytes: this.budgetBytes,
      usedBytes: this.last?.usedBytes ?? rss,
      rssBytes: rss,
      queuedBytes: this.throttle.queuedBytes(),
      source,
      ...(limitBytes !== undefined ? { limitBytes } : {}),
    };
  }

  /** For admission: a reason to refuse upgrades now, as at the cap. */
  refusal(): string | undefined {
    return this.current === 'normal' ? undefined : MEMORY_PRESSURE;
  }

  start(): void {
    if (this.budgetBytes === 0 || this.timer) return;
    this.sample();
    // unref: a budget never keeps the process alive.
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.current === 'throttling') this.throttle.resumeAll();
  }

  /** One step: read memory, move the state, act. */
  sample(): void {
    const sample = this.signal.read(this.throttle.nativeQueuedBytes(), this.throttle.connections());
    this.last = sample;
    const share = sample.usedBytes / this.budgetBytes;
    const next = nextState(this.current, share);
    if (next !== this.current) {
      const from = this.current;
      this.current = next;
      if (from === 'throttling') this.throttle.resumeAll();
      this.events.stateChanged(from, next, sample);
    }
    if (this.current === 'throttling') {
      // Every sample: sinks that filled since the last one are held too.
      const excess = sample.usedBytes - this.budgetBytes * THRESHOLDS.throttling.leave;
      const paused = this.throttle.throttle(Math.max(excess, 1));
      if (paused > 0) this.events.readsPaused(paused);
    }
    const now = Date.now();
    if (this.current !== 'normal' && this.collect !== undefined && now - this.lastCollectMs >= COLLECT_EVERY_MS) {
      this.lastCollectMs = now;
      this.collect();
      this.events.collected();
    }
  }
}

/** The state after one sample at `share` of the budget. */
export function nextState(current: MemoryState, share: number): MemoryState {
  if (share >= THRESHOLDS.throttling.enter) return 'throttling';
  if (current === 'throttling' && share >= THRESHOLDS.throttling.leave) return 'throttling';
  if (share >= THRESHOLDS.refusing.enter) return 'refusing';
  if (current !== 'normal' && share >= THRESHOLDS.refusing.leave) return 'refusing';
  return 'normal';
}
