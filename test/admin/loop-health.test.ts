// LoopHealth against a really blocked event loop (the thread is stopped with Atomics.wait).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LoopHealth } from '../../proxy/admin/loop-health.js';

/** Blocks this thread, event loop included, for `ms`. */
function blockThread(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('LoopHealth', () => {
  const monitors: LoopHealth[] = [];
  afterEach(() => monitors.splice(0).forEach((monitor) => monitor.stop()));

  const monitor = (thresholdMs: number, windowMs: number): LoopHealth => {
    const created = new LoopHealth({ thresholdMs, windowMs, tickMs: 20 });
    monitors.push(created);
    return created;
  };

  it('is healthy while the loop turns', async () => {
    const health = monitor(1000, 60_000);
    expect(health.state()).toMatchObject({ healthy: true });
    // Still healthy once the timer has ticked a few times.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(health.state()).toMatchObject({ healthy: true });
  });

  it('reports a block past the threshold even before its timer has run again', () => {
    const health = monitor(300, 60_000);
    blockThread(500);
    const state = health.state();
    expect(state).toMatchObject({ healthy: false, reason: 'event_loop_blocked' });
    expect(state.lagMs).toBeGreaterThanOrEqual(300);
  });

  it('keeps reporting the block for the window, then recovers', async () => {
    const health = monitor(300, 400);
    blockThread(500);
    // Whether the timer or state() notices first, the block is remembered.
    await new Promise((resolve) => setImmediate(resolve));
    expect(health.state().healthy).toBe(false);
    await vi.waitFor(() => expect(health.state().healthy).toBe(true), { timeout: 5000, interval: 50 });
  });
});
