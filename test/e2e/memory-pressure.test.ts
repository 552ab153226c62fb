// The memory budget's edges through the real CLI: a process already over its budget
// refuses every upgrade as at the cap and is not ready, saying why; with no budget
// (0, or auto without a cgroup limit) nothing changes.
import { describe, expect, it } from 'vitest';
import { getJson, parseExposition, sample, scrape } from '../helpers/admin-client.js';
import { attempt, closeClient } from '../helpers/upgrade-attempt.js';
import { withSidecar } from '../helpers/with-sidecar.js';
import { containerLimit } from '../../proxy/memory/budget-size.js';
import { totalmem } from 'node:os';

const MiB = 2 ** 20;

interface MemoryStatus {
  state: string;
  budgetBytes: number;
  usedBytes: number;
  rssBytes: number;
  source: string;
  limitBytes?: number;
}

describe('memory budget edges', () => {
  it('over its budget from the start (32Mi): refuses upgrades as at the cap, in both reject modes, and is not ready', async () => {
    for (const mode of ['http', 'close']) {
      await withSidecar({ args: ['--max-memory', '32Mi', '--reject-with', mode, '--retry-after', '3'] }, async ({ sidecar, wsUrl }) => {
        // The first sample is taken at start: the process alone is over 90% of 32 MiB.
        const status = await getJson<{ ready: boolean; reasons: string[]; memory: MemoryStatus }>(sidecar.adminPort, '/status');
        expect(status.body.memory).toMatchObject({ state: 'throttling', budgetBytes: 32 * MiB, source: 'flag' });
        expect(status.body.memory.usedBytes).toBeGreaterThan(0.9 * 32 * MiB);
        expect(status.body.reasons).toContain('memory_pressure');
        const ready = await getJson<{ ready: boolean; reasons: string[] }>(sidecar.adminPort, '/readyz');
        expect(ready.status).toBe(503);
        expect(ready.body.reasons).toEqual(['memory_pressure']);

        const result = await attempt(wsUrl);
        if (mode === 'http') {
          expect(result).toMatchObject({ kind: 'http', status: 503 });
          // The hint is --retry-after with jitter.
          expect(Number((result as { retryAfter?: string }).retryAfter)).toBeGreaterThanOrEqual(1);
          expect(JSON.parse((result as { body: string }).body)).toMatchObject({ error: 'memory_pressure' });
        } else {
          expect(result.kind).toBe('open');
          const closed = await (result as { closed: Promise<{ code: number; reason: string }> }).closed;
          expect(closed.code).toBe(1013);
          expect(closed.reason).toMatch(/^memory_pressure/);
        }
        // Plain HTTP is not a WebSocket slot: still forwarded.
        expect((await fetch(`http://127.0.0.1:${sidecar.dataPort}/plain`)).status).toBe(200);

        const series = parseExposition(await scrape(sidecar.adminPort));
        expect(sample(series, 'ws_sidecar_memory_budget_bytes')).toBe(32 * MiB);
        expect(sample(series, 'ws_sidecar_memory_state', { state: 'throttling' })).toBe(1);
        expect(sample(series, 'ws_sidecar_memory_state', { state: 'normal' })).toBe(0);
        expect(sample(series, 'ws_sidecar_memory_state_changes_total', { state: 'throttling' })).toBe(1);
        expect(sample(series, 'ws_sidecar_memory_upgrades_refused_total')).toBe(1);
        expect(sample(series, 'ws_sidecar_connections_total', { outcome: 'rejected_capacity' })).toBe(1);
        expect(sample(series, 'ws_sidecar_connections_total', { outcome: 'accepted' })).toBe(0);
      });
    }
  });

  it('with no budget (0, or auto without a container limit) admits and stays normal', async () => {
    // This process shares the sidecar's cgroup: auto is off here exactly when it finds no limit.
    const autoOff = containerLimit(process.constrainedMemory?.(), totalmem()) === undefined;
    for (const setting of ['0', ...(autoOff ? ['auto'] : [])]) {
      await withSidecar({ args: ['--max-memory', setting] }, async ({ sidecar, wsUrl }) => {
        const status = await getJson<{ ready: boolean; memory: MemoryStatus }>(sidecar.adminPort, '/status');
        expect(status.body.memory).toMatchObject({ state: 'normal', budgetBytes: 0, source: 'off' });
        expect(status.body.ready).toBe(true);
        const result = await attempt(wsUrl);
        expect(result.kind).toBe('open');
        await closeClient((result as { ws: import('ws').WebSocket }).ws);
        const series = parseExposition(await scrape(sidecar.adminPort));
        expect(sample(series, 'ws_sidecar_memory_budget_bytes')).toBe(0);
        expect(sample(series, 'ws_sidecar_memory_state', { state: 'normal' })).toBe(1);
        expect(sample(series, 'ws_sidecar_memory_used_bytes')).toBeGreaterThan(0);
      });
    }
  });
});
