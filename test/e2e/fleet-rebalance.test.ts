// The rebalancer end to end: two real sidecars sharing a real Redis, every client on one of
// them. It sheds down to the fair share with polite closes (1012 `rebalancing; delay_ms` to the
// client, 1001 to the app), never a 1006; with --fleet-shadow it only counts.
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getJson, parseExposition, sample, scrape } from '../helpers/admin-client.js';
import { startApp, type TestApp } from '../helpers/apps.js';
import { redisMissing, redisSkipNote, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/sidecar-process.js';

const CLIENTS = 20;
const closes: Array<{ code: number; reason: string }> = [];

async function connect(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  ws.on('close', (code, reason) => closes.push({ code, reason: reason.toString() }));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return ws;
}

describe.skipIf(redisMissing)(`rebalancing across two sidecars${redisSkipNote}`, () => {
  let redis: RedisServer;
  const apps: TestApp[] = [];
  const sidecars: SidecarProcess[] = [];
  const clients: WebSocket[] = [];
  const appCloses: number[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    apps.push(...(await Promise.all([0, 1, 2].map(() => startApp()))));
    for (const app of apps) app.wss.on('connection', (ws) => ws.on('close', (code) => appCloses.push(code)));
    const fleet = (i: number, name: string, extra: string[]) =>
      startSidecarProcess([
        '--upstream', `http://127.0.0.1:${apps[i]!.port}`,
        '--fleet-redis', redis.url, '--fleet-name', name, '--pod-name', `pod-${i}`,
        '--fleet-heartbeat', '0.25', '--fleet-timeout', '0.2',
        '--rebalance', '--rebalance-min-age', '0', '--rebalance-min-excess', '2', '--rebalance-rate', '0.5', '--retry-after', '0.2',
        ...extra,
      ]);
    sidecars.push(...(await Promise.all([fleet(0, 'moves', []), fleet(1, 'moves', []), fleet(2, 'shadow', ['--fleet-shadow'])])));
  }, 90_000);

  afterAll(async () => {
    for (const ws of clients) ws.terminate();
    for (const sidecar of sidecars) sidecar.kill();
    await Promise.all(sidecars.map((sidecar) => sidecar.exited));
    await Promise.all(apps.map((app) => app.close()));
    await redis?.stop();
  });

  it('sheds the busy pod down to its fair share with 1012 rebalancing + delay_ms, 1001 to the app, no 1006', async () => {
    const [busy, empty] = sidecars;
    await vi.waitFor(async () => expect((await getJson<{ pods: unknown[] }>(busy!.adminPort, '/fleet')).body.pods).toHaveLength(2), { timeout: 15_000, interval: 50 });
    for (let i = 0; i < CLIENTS; i++) clients.push(await connect(busy!.dataPort));
    // Fair share 10: shedding stops within 10 × 1.05, so the busy pod keeps 10.
    await vi.waitFor(async () => expect(sample(parseExposition(await scrape(busy!.adminPort)), 'ws_sidecar_connections_active')).toBe(10), { timeout: 30_000, interval: 100 });
    const moved = closes.length;
    expect(moved).toBe(10);
    for (const close of closes) {
      expect(close.code).toBe(1012);
      expect(close.reason).toMatch(/^rebalancing; delay_ms=\d+$/);
    }
    await vi.waitFor(() => expect(appCloses.filter((code) => code === 1001)).toHaveLength(10), { timeout: 10_000, interval: 50 });
    const series = parseExposition(await scrape(busy!.adminPort));
    expect(sample(series, 'ws_sidecar_rebalance_closes_total')).toBe(10);
    expect(sample(series, 'ws_sidecar_closes_total', { initiator: 'sidecar', code: '1012' })).toBe(10);
    expect(sample(series, 'ws_sidecar_closes_total', { initiator: 'sidecar', code: '1006' }) ?? 0).toBe(0);
    // The moved clients reconnect to the other pod (as a front would send them there).
    for (let i = 0; i < moved; i++) clients.push(await connect(empty!.dataPort));
    await vi.waitFor(async () => expect((await getJson<{ rebalance: { state: string; reason?: string } }>(busy!.adminPort, '/fleet')).body.rebalance).toEqual({ enabled: true, state: 'idle', reason: 'balanced' }), { timeout: 10_000, interval: 50 });
  });

  it('with --fleet-shadow counts the closes it would make and closes nothing', async () => {
    const shadow = sidecars[2]!;
    // A fleet of its own: this pod and a pod that is only a lease (another sidecar on the same fleet name).
    const other = await startSidecarProcess(['--upstream', `http://127.0.0.1:${apps[2]!.port}`, '--fleet-redis', redis.url, '--fleet-name', 'shadow', '--pod-name', 'pod-other', '--fleet-heartbeat', '0.25', '--fleet-timeout', '0.2']);
    try {
      await vi.waitFor(async () => expect((await getJson<{ pods: unknown[] }>(shadow.adminPort, '/fleet')).body.pods).toHaveLength(2), { timeout: 15_000, interval: 50 });
      const before = closes.length;
      for (let i = 0; i < CLIENTS; i++) clients.push(await connect(shadow.dataPort));
      await vi.waitFor(async () => expect(sample(parseExposition(await scrape(shadow.adminPort)), 'ws_sidecar_fleet_shadow_total', { action: 'rebalance_close' })).toBe(10), { timeout: 30_000, interval: 100 });
      const series = parseExposition(await scrape(shadow.adminPort));
      expect(sample(series, 'ws_sidecar_rebalance_closes_total')).toBe(0);
      expect(sample(series, 'ws_sidecar_connections_active')).toBe(CLIENTS);
      expect(closes.slice(before)).toEqual([]);
    } finally {
      other.kill();
      await other.exited;
    }
  });
});
