// The "used" figure the budget compares, fed sequences of readings (pure: no memory is
// read here; test/e2e/memory-budget.test.ts drives a real process to the budget and back).
import { describe, expect, it } from 'vitest';
import { GROWTH_TOLERANCE, MemorySignal, type MemoryReading } from '../../proxy/memory/memory-signal.js';

const MiB = 2 ** 20;

/** A 150 MiB budget's tolerance, as the sidecar sets it (3 MiB). */
const TOLERANCE = 150 * MiB * GROWTH_TOLERANCE;

function feed(readings: MemoryReading[]): number[] {
  const signal = new MemorySignal(TOLERANCE);
  return readings.map((reading) => signal.next(reading).usedBytes / MiB);
}

const at = (rss: number, live: number, connections: number): MemoryReading => ({ rss: rss * MiB, live: live * MiB, connections });

describe('memory signal', () => {
  it('is RSS while the process grows', () => {
    const used = feed([at(80, 20, 0), at(100, 30, 500), at(130, 50, 1000)]);
    expect(used).toEqual([80, 100, 130]);
  });

  it('falls by what was freed while RSS stays at its high', () => {
    // The empty process: 80 RSS, 20 live, so 60 outside V8. At the high, 1,000
    // connections explain 130 - 50 - 60 = 20 MiB: 20 KiB each.
    const used = feed([at(80, 20, 0), at(130, 50, 1000), at(130, 30, 1000), at(130, 30, 500), at(130, 25, 0)]);
    expect(used[2]).toBeCloseTo(110);
    expect(used[3]).toBeCloseTo(110 - 10);
    expect(used[4]).toBeCloseTo(100 - 5 - 10);
  });

  it('never falls below what is live plus the empty process when the cost estimate moves', () => {
    // 1,000 connections at 50 KiB each; at a later high 500 explain 52 MiB (~104 KiB each):
    // closing them at the new price would take "used" to 55, below the 60 + 20 that must exist.
    const used = feed([at(80, 20, 0), at(130, 20, 1000), at(130, 20, 500), at(132, 20, 500), at(132, 20, 0)]);
    expect(used.slice(0, 4)).toEqual([80, 130, 105, 107]);
    expect(used[4]).toBeCloseTo(80);
  });

  it('keeps the credit when RSS grows a page after every connection has gone (the CI failure)', () => {
    const used = feed([at(80, 20, 0), at(138, 55, 1000), at(136, 35, 500), at(136, 27, 0), at(138.01, 27, 0), at(138.01, 27, 0)]);
    expect(used[3]).toBeLessThan(0.7 * 150);
    // Growth counts, but only the growth: the pages freed before stay known.
    expect(used[4]).toBeCloseTo(used[3]! + 2.01);
    expect(used[5]).toBeCloseTo(used[4]!);
    expect(used[5]).toBeLessThan(0.8 * 150);
  });

  it('serves allocations from kept pages before counting RSS growth, and never says more than RSS', () => {
    const used = feed([at(80, 20, 0), at(130, 50, 1000), at(130, 20, 0), at(130, 40, 0), at(132, 70, 0), at(132, 90, 0)]);
    expect(used[2]).toBeCloseTo(80);
    expect(used[3]).toBeCloseTo(100); // 20 MiB allocated, RSS flat: taken from kept pages
    expect(used[4]).toBeCloseTo(130); // 30 more, RSS up 2: 28 from kept pages, 2 from the kernel
    expect(used[5]).toBe(132); // 20 more with RSS flat: all of RSS, and no more
  });

  it('counts growth nobody explains, even while the accounting shrinks', () => {
    const used = feed([at(80, 20, 0), at(130, 50, 1000), at(130, 30, 1000), at(132, 25, 1000)]);
    expect(used[2]).toBeCloseTo(110);
    expect(used[3]).toBeCloseTo(110 - 5 + 2);
  });

  it('is RSS again once RSS passes its last reset by more than the tolerance, whatever was freed meanwhile (the second CI failure)', () => {
    // A ramp-up with the GC freeing as it goes: the frees must not let RSS run past the budget.
    const used = feed([at(80, 20, 0), at(100, 40, 500), at(102, 20, 500), at(104, 20, 500), at(104, 10, 500)]);
    expect(used).toEqual([80, 100, 82, 104, 94]);
  });

  it('does not estimate the cost of a connection from a handful of them', () => {
    // A high with 2 connections would price each at ~25 MiB; closing them must not free 50.
    const used = feed([at(80, 20, 0), at(130, 20, 2), at(130, 20, 0)]);
    expect(used[2]).toBe(130);
  });
});
