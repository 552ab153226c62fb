// Bounded in total: 3,000 clients stop reading while a real app streams to them,
// under a --max-memory well below what they would take unbounded (measured with
// load/slow-readers.ts before bounded reads: 449–458 MiB stalled; 178–185 MiB after).
// RSS stays under the budget (admission stops at 80%, reads are bounded), the
// process lives, a fast client keeps its echoes, and everything resumes (and the
// budget recovers) when the readers come back.
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { parseExposition, sample, scrape } from '../helpers/admin-client.js';
import { startSidecarProcess } from '../helpers/sidecar-process.js';
import { START_STREAM, STOP_STREAM, startStreamApp, untilStalled } from '../helpers/stream-app.js';

const MiB = 2 ** 20;
const BUDGET_MIB = 150;
const READERS = 3000;
const CONCURRENCY = 50;

function rssOf(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

type Attempt = { admitted: true; ws: WebSocket } | { admitted: false; status: number; body: string };

/** One upgrade: a client, or the refusal's status and body. */
function attempt(port: number): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    ws.once('open', () => resolve({ admitted: true, ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ admitted: false, status: res.statusCode!, body }));
      res.on('error', reject);
    });
    ws.on('error', (err) => {
      if (ws.readyState !== WebSocket.OPEN) reject(err);
    });
  });
}

function socketOf(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}

/** Polls `check` until it holds; throws past `withinMs` with `what`. */
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A client that sends a message, waits for its echo, and goes on: how many came back. */
function fastClient(ws: WebSocket): { echoes: () => number; stop: () => void } {
  let echoes = 0;
  let running = true;
  ws.on('message', () => {
    echoes++;
    if (running) ws.send(`echo ${echoes}`);
  });
  ws.send('echo 0');
  return { echoes: () => echoes, stop: () => (running = false) };
}

describe('memory budget', () => {
  // 3,000 clients on 2 shared cores: ~40 s alone, over 60 s beside another suite. A budget, not a speed assertion.
  it(`holds ${READERS} readers that stop reading under --max-memory ${BUDGET_MIB}Mi, keeps a fast client flowing, resumes and recovers`, { timeout: 240_000 }, async () => {
    const app = await startStreamApp();
    const sidecar = await startSidecarProcess(['--upstream', `http://127.0.0.1:${app.port}`, '--max-memory', `${BUDGET_MIB}Mi`, '--max-connections', '0', '--max-pending-handshakes', '0']);
    const pid = sidecar.child.pid!;
    let maxRss = rssOf(pid);
    const sampler = setInterval(() => (maxRss = Math.max(maxRss, rssOf(pid))), 50);
    const readers: WebSocket[] = [];
    const refusals: Array<{ status: number; body: string }> = [];
    try {
      const first = await attempt(sidecar.dataPort);
      if (!first.admitted) throw new Error(`the fast client was refused: ${first.status}`);
      const fast = fastClient(first.ws);

      // Readers open, stop reading and ask for their stream, CONCURRENCY at a time.
      let started = 0;
      const worker = async (): Promise<void> => {
        while (started < READERS) {
          started++;
          const result = await attempt(sidecar.dataPort);
          if (!result.admitted) {
            refusals.push(result);
            continue;
          }
          socketOf(result.ws).pause();
          result.ws.send(START_STREAM);
          readers.push(result.ws);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      await untilStalled(() => app.stats(), { everyMs: 500, withinMs: 30_000, what: 'the streams' });
      const echoesAtStall = fast.echoes();

      // The budget acted: upgrades refused as at the cap, readiness off, with the reason.
      expect(refusals.length).toBeGreaterThan(0);
      expect(refusals.every((r) => r.status === 503 && JSON.parse(r.body).error === 'memory_pressure')).toBe(true);
      const ready = await fetch(`http://127.0.0.1:${sidecar.adminPort}/readyz`);
      expect(ready.status).toBe(503);
      expect(JSON.stringify(await ready.json())).toContain('memory_pressure');
      const series = parseExposition(await scrape(sidecar.adminPort));
      expect(sample(series, 'ws_sidecar_memory_budget_bytes')).toBe(BUDGET_MIB * MiB);
      expect(sample(series, 'ws_sidecar_memory_state', { state: 'normal' })).toBe(0);
      expect(sample(series, 'ws_sidecar_memory_upgrades_refused_total')).toBe(refusals.length);
      expect(sample(series, 'ws_sidecar_connections_total', { outcome: 'rejected_capacity' })).toBe(refusals.length);

      // The fast client's echoes still flow while the readers are stalled.
      await until('more echoes for the fast client', () => fast.echoes() > echoesAtStall + 20 || undefined, 20_000);
      console.info(
        `memory budget: ${readers.length} readers admitted, ${refusals.length} refused, sidecar RSS max ${(maxRss / MiB).toFixed(1)} MiB of ${BUDGET_MIB} MiB`,
      );
      expect(maxRss).toBeLessThan(BUDGET_MIB * MiB);

      // The readers return: each one's stream ends, and the echo of its next message comes
      // after everything that was held for it.
      await Promise.all(
        readers.map((ws, i) => {
          const back = new Promise<void>((resolve) => ws.on('message', (data, isBinary) => !isBinary && data.toString() === `back ${i}` && resolve()));
          socketOf(ws).resume();
          ws.send(STOP_STREAM);
          ws.send(`back ${i}`);
          return back;
        }),
      );
      for (const ws of readers) ws.close(1000);
      await Promise.all(readers.map((ws) => new Promise((resolve) => (ws.readyState === WebSocket.CLOSED ? resolve(undefined) : ws.once('close', resolve)))));

      // Recovered: ready again, and a new client is admitted.
      await until('readiness to come back', async () => (await fetch(`http://127.0.0.1:${sidecar.adminPort}/readyz`)).status === 200 || undefined, 20_000).catch(async (err: Error) => {
        const status = (await (await fetch(`http://127.0.0.1:${sidecar.adminPort}/status`)).json()) as { memory: unknown };
        throw new Error(`${err.message}; memory: ${JSON.stringify(status.memory)}; ${(await scrape(sidecar.adminPort)).split('\n').filter((l) => /memory|heap_size_used|external/.test(l) && !l.startsWith('#')).join(' ')}`);
      });
      const again = await attempt(sidecar.dataPort);
      expect(again.admitted).toBe(true);
      if (again.admitted) again.ws.terminate();
      fast.stop();
      first.ws.terminate();
      expect(sidecar.child.exitCode).toBeNull();
      expect(maxRss).toBeLessThan(BUDGET_MIB * MiB);
    } finally {
      clearInterval(sampler);
      for (const ws of readers) ws.terminate();
      sidecar.kill();
      await app.close();
    }
  });
});
