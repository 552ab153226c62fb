// Smoke test of load/: the CI-sized bench and rollout run to completion, and a
// rolling restart behind the sidecar loses nothing (counts only; speed is not
// asserted here, it belongs to the full runs documented in load/README.md).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../load/bench-options.js';
import { runBench } from '../../load/bench.js';
import { peerUnavailable } from '../../load/peers.js';
import { runRollouts } from '../../load/rollout.js';
import { redisMissing } from '../helpers/redis-server.js';
import { NATIVE_REQUIRED } from '../helpers/native.js';

const outDir = mkdtempSync(join(tmpdir(), 'ws-sidecar-load-smoke-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('load smoke', () => {
  // Eight peers × six scenarios and the caps A/B: a budget for the whole run (270 s at load 6), not a speed assertion.
  it('bench --quick measures every peer installed here and writes JSON', { timeout: 600_000 }, async () => {
    const plan = parseBenchArgs(['--quick'], outDir);
    const { results, caps, markdown, file } = await runBench(plan);
    expect(results.map((r) => r.peer)).toEqual(['direct', 'ws-sidecar', 'ws-sidecar-native', 'nginx', 'haproxy', 'caddy', 'http-proxy', 'node-floor']);
    expect(results.find((r) => r.peer === 'ws-sidecar')?.skipped).toBeUndefined();
    if (NATIVE_REQUIRED) expect(results.find((r) => r.peer === 'ws-sidecar-native')?.skipped).toBeUndefined();
    for (const result of results) {
      expect(result.failed, result.peer).toBeUndefined();
      if (result.skipped) {
        expect(peerUnavailable(result.peer)).toBe(result.skipped);
        continue;
      }
      expect(result.steady?.lostReplies, result.peer).toBe(0);
      expect(result.steady?.roundTrips, result.peer).toBe(Math.round((plan.steady.messagesPerSecond * plan.steady.durationMs) / 1000));
      expect(result.saturationSmall?.roundTripsPerSecond, result.peer).toBeGreaterThan(0);
      expect(result.saturationLarge?.roundTripsPerSecond, result.peer).toBeGreaterThan(0);
      expect(result.storm?.completed, result.peer).toBe(plan.storm.connections);
      expect(result.storm?.failed, result.peer).toBe(0);
      expect(result.idle?.connections, result.peer).toBe(plan.idle.connections);
      expect(result.backpressure?.connections, result.peer).toBe(plan.backpressure.connections);
      if (result.peer !== 'direct') expect(result.idle?.rssAfterBytes, result.peer).toBeGreaterThan(0);
      // Node peers are read after a GC forced over their inspector, which also gives their JS heap.
      const node = ['ws-sidecar', 'ws-sidecar-native', 'http-proxy', 'node-floor'].includes(result.peer);
      expect(result.idle?.gcForced, result.peer).toBe(node);
      if (node) expect(result.idle?.heapAfterBytes, result.peer).toBeGreaterThan(0);
      else expect(result.idle?.heapAfterBytes, result.peer).toBeUndefined();
    }
    expect(markdown).toContain('| ws-sidecar |');
    // The fleet caps' A/B: one store round trip per handshake; releases are batched (the closes
    // of one event-loop turn share a call), so at most one per close.
    if (!redisMissing) {
      const withCaps = caps?.variants?.find((v) => v.variant === 'fleet + caps');
      expect(caps?.skipped).toBeUndefined();
      expect(caps?.variants?.every((v) => v.failed === 0)).toBe(true);
      expect(withCaps?.roundTripsPerHandshake).toBeCloseTo(1, 1);
      expect(withCaps?.roundTripsPerClose).toBeGreaterThan(0);
      expect(withCaps?.roundTripsPerClose).toBeLessThanOrEqual(1);
      expect(caps?.variants?.find((v) => v.variant === 'fleet, no caps')?.roundTripsPerHandshake).toBeLessThan(0.1);
    }
    expect(existsSync(file)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8')).results).toHaveLength(results.length);
  });

  it('rollout --quick: with the sidecar no abnormal closure and nothing lost; the baseline sees 1006s', async () => {
    const { results } = await runRollouts(true, outDir);
    const [sidecar, baseline] = results;
    expect(sidecar!.mode).toBe('sidecar');
    expect(sidecar!.settled).toBe(true);
    expect(sidecar!.abnormalClosures).toBe(0);
    expect(sidecar!.lost).toBe(0);
    expect(sidecar!.acknowledged).toBe(sidecar!.sent);
    // Every client was moved at least once, each time by a 1012 with a delay_ms hint.
    expect(sidecar!.reconnects).toBeGreaterThanOrEqual(sidecar!.clients);
    expect(Object.keys(sidecar!.closeCodes)).toEqual(['1012']);
    expect(sidecar!.hintedCloses).toBe(sidecar!.closeCodes['1012']);
    // Without the sidecar the same restarts end connections abnormally.
    expect(baseline!.mode).toBe('baseline');
    expect(baseline!.settled).toBe(true);
    expect(baseline!.abnormalClosures).toBeGreaterThan(0);
  });
});
