// Sizing the injected sidecar: its memory limit and its connection cap agree, by the
// formula and figures of docs/injection.md ("Sizing").
import { describe, expect, it } from 'vitest';
import { AUTO_HEADROOM_SHARE } from '../../proxy/memory/budget-size.js';
import { capForLimit, memoryForCap, mebibytes, sizeSidecar, SIZING } from '../../proxy/inject/sidecar-resources.js';

const MiB = 2 ** 20;

describe('sidecar sizing', () => {
  it('leaves out of the limit what the sidecar budget (--max-memory auto) leaves out', () => {
    expect(SIZING.headroomShare).toBe(AUTO_HEADROOM_SHARE);
  });

  it('sizes the limit so that a full pod at its worst fits the budget, and back', () => {
    for (const cap of [1, 500, 1000, 10_000, 50_000]) {
      const { limitBytes, requestBytes } = memoryForCap(cap);
      const budget = limitBytes * (1 - SIZING.headroomShare);
      expect(budget).toBeGreaterThanOrEqual(SIZING.worstBaseBytes + cap * SIZING.worstPerConnectionBytes);
      // Rounded up to whole MiB, not more.
      expect(budget - MiB).toBeLessThan(SIZING.worstBaseBytes + cap * SIZING.worstPerConnectionBytes);
      expect(requestBytes).toBeLessThanOrEqual(limitBytes);
      // The cap a limit holds is at least the cap it was sized for.
      expect(capForLimit(limitBytes)).toBeGreaterThanOrEqual(cap);
    }
    expect(mebibytes(memoryForCap(10_000).limitBytes)).toBe('466Mi');
    expect(capForLimit(256 * MiB)).toBe(3563);
    expect(capForLimit(64 * MiB)).toBeUndefined();
  });

  it('takes the cap from a given limit, lowering a given cap that does not fit, never raising one', () => {
    expect(sizeSidecar({ maxConnections: 10_000, capGiven: false, limitBytes: 256 * MiB })).toEqual({
      memory: { requestBytes: memoryForCap(3563).requestBytes, limitBytes: 256 * MiB, maxConnections: 3563 },
      warnings: [],
    });
    const lowered = sizeSidecar({ maxConnections: 10_000, capGiven: true, limitBytes: 256 * MiB });
    expect(lowered.memory.maxConnections).toBe(3563);
    expect(lowered.warnings).toEqual(['--max-connections 10000 does not fit a 256Mi memory limit, which holds 3563 connections at worst: lowered to 3563']);
    expect(sizeSidecar({ maxConnections: 500, capGiven: true, limitBytes: 256 * MiB }).memory).toMatchObject({ maxConnections: 500, limitBytes: 256 * MiB });
    const unlimited = sizeSidecar({ maxConnections: 0, capGiven: true, limitBytes: undefined });
    expect(unlimited.memory).toEqual({ ...memoryForCap(SIZING.uncappedSizedFor), maxConnections: 0 });
    expect(unlimited.warnings[0]).toMatch(/unlimited/);
    expect(sizeSidecar({ maxConnections: 500, capGiven: true, limitBytes: 64 * MiB }).warnings[0]).toMatch(/holds no connection/);
  });
});
