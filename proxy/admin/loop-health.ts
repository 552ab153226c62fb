// Liveness: is the event loop turning in time? A timer that should fire every
// tick measures how late it came; a lag past the threshold marks the process
// unhealthy for a while, so a probe that gets through after a stall still says so.

export interface LoopHealthOptions {
  /** A loop turn later than this counts as blocked. */
  readonly thresholdMs: number;
  /** How long a block is reported after it ended. */
  readonly windowMs: number;
  /** How often the timer checks the loop. */
  readonly tickMs: number;
}

export type LoopHealthState =
  | { readonly healthy: true; readonly lagMs: number }
  | { readonly healthy: false; readonly reason: 'event_loop_blocked'; readonly lagMs: number; readonly blockedAgoMs: number };

export const DEFAULT_LOOP_HEALTH: LoopHealthOptions = { thresholdMs: 2000, windowMs: 10_000, tickMs: 250 };

export class LoopHealth {
  private lastTickAt = performance.now();
  private lastBlock: { endedAt: number; lagMs: number } | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: LoopHealthOptions = DEFAULT_LOOP_HEALTH) {
    this.timer = setInterval(() => this.observe(), options.tickMs);
    // Only a health check: never keeps the process alive.
    this.timer.unref();
  }

  /** Current state; also counts a stall the timer has not seen yet (a request may run first). */
  state(): LoopHealthState {
    this.observe(false);
    const now = performance.now();
    const lagMs = Math.max(0, Math.round(now - this.lastTickAt - this.options.tickMs));
    const block = this.lastBlock;
    if (block && now - block.endedAt <= this.options.windowMs) {
      return { healthy: false, reason: 'event_loop_blocked', lagMs: block.lagMs, blockedAgoMs: Math.round(now - block.endedAt) };
    }
    return { healthy: true, lagMs };
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private observe(isTick = true): void {
    const now = performance.now();
    const lagMs = now - this.lastTickAt - this.options.tickMs;
    if (lagMs > this.options.thresholdMs) this.lastBlock = { endedAt: now, lagMs: Math.round(lagMs) };
    if (isTick) this.lastTickAt = now;
  }
}
