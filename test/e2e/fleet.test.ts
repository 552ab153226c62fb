// Fleet mode end to end: three real sidecars (the CLI) in front of three real apps, sharing a
// real redis-server. Membership, a pod SIGKILLed, Redis killed mid-traffic and restarted empty.
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getJson, parseExposition, sample, scrape } from '../helpers/admin-client.js';
import { startApp, type TestApp } from '../helpers/apps.js';
import { redisMissing, redisSkipNote, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/sidecar-process.js';

const HEARTBEAT_S = 0.5;
const LEASE_MS = HEARTBEAT_S * 4 * 1000;

interface FleetBody {
  fleet: string;
  pod: string;
  storeUp: boolean;
  connections: number;
  fairShare: number;
  pods: Array<{ pod: string; revision: string; connections: number; maxConnections: number; ready: boolean; draining: boolean; lastSeenMs: number }>;
  rebalance: { enabled: boolean; state: string; reason?: string };
}

const fleetOf = async (sidecar: SidecarProcess): Promise<FleetBody> => (await getJson<FleetBody>(sidecar.adminPort, '/fleet')).body;
const podNames = (body: FleetBody): string[] => body.pods.map((pod) => pod.pod);

async function echo(ws: WebSocket, text: string): Promise<string> {
  const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
  ws.send(text);
  return reply;
}

async function connect(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return ws;
}

describe.skipIf(redisMissing)(`fleet mode with three sidecars and a real Redis${redisSkipNote}`, () => {
  let redis: RedisServer;
  const apps: TestApp[] = [];
  const sidecars: SidecarProcess[] = [];
  const clients: WebSocket[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    apps.push(...(await Promise.all([1, 2, 3].map(() => startApp()))));
    sidecars.push(
      ...(await Promise.all(
        apps.map((app, i) =>
          startSidecarProcess([
            '--upstream', `http://127.0.0.1:${app.port}`,
            '--fleet-redis', redis.url,
            '--fleet-name', 'e2e/chat',
            '--pod-name', `pod-${i + 1}`,
            '--revision', 'r1',
            '--fleet-heartbeat', String(HEARTBEAT_S),
            '--fleet-timeout', '0.4',
            '--rebalance',
            '--max-connections', '100',
          ]),
        ),
      )),
    );
  }, 90_000);

  afterAll(async () => {
    for (const ws of clients) ws.terminate();
    for (const sidecar of sidecars) sidecar.kill();
    await Promise.all(sidecars.map((sidecar) => sidecar.exited));
    await Promise.all(apps.map((app) => app.close()));
    await redis?.stop();
  });

  it('shows every pod in /fleet on every pod, in the design shape, with fresh leases', async () => {
    for (const sidecar of sidecars) {
      await vi.waitFor(async () => expect(podNames(await fleetOf(sidecar))).toEqual(['pod-1', 'pod-2', 'pod-3']), { timeout: 10_000, interval: 50 });
    }
    clients.push(await connect(sidecars[0]!.dataPort), await connect(sidecars[0]!.dataPort), await connect(sidecars[1]!.dataPort));
    await vi.waitFor(async () => expect((await fleetOf(sidecars[2]!)).connections).toBe(3), { timeout: 10_000, interval: 50 });
    const body = await fleetOf(sidecars[2]!);
    expect(Object.keys(body).sort()).toEqual(['connections', 'fairShare', 'fleet', 'pod', 'pods', 'rebalance', 'storeUp']);
    expect(body).toMatchObject({ fleet: 'e2e/chat', pod: 'pod-3', storeUp: true, connections: 3, fairShare: 1 });
    expect(body.rebalance).toEqual({ enabled: true, state: 'idle', reason: 'balanced' });
    for (const pod of body.pods) {
      expect(Object.keys(pod).sort()).toEqual(['connections', 'draining', 'lastSeenMs', 'maxConnections', 'pod', 'ready', 'revision']);
      expect(pod).toMatchObject({ revision: 'r1', maxConnections: 100, ready: true, draining: false });
      // Renewed within the last two heartbeats (the server's clock).
      expect(pod.lastSeenMs).toBeLessThanOrEqual(2 * HEARTBEAT_S * 1000);
    }
    expect(body.pods.map((pod) => pod.connections)).toEqual([2, 1, 0]);
    const series = parseExposition(await scrape(sidecars[2]!.adminPort));
    expect(sample(series, 'ws_sidecar_fleet_up')).toBe(1);
    expect(sample(series, 'ws_sidecar_fleet_pods')).toBe(3);
    expect(sample(series, 'ws_sidecar_fleet_connections')).toBe(3);
    expect(sample(series, 'ws_sidecar_fleet_fair_share')).toBe(1);
    expect(sample(series, 'ws_sidecar_fleet_shadow_total', { action: 'rebalance_close' })).toBe(0);
  });

  it('drops a SIGKILLed pod from the view within its lease', async () => {
    const victim = sidecars[2]!;
    victim.kill('SIGKILL');
    await victim.exited;
    const killedAt = performance.now();
    for (const sidecar of sidecars.slice(0, 2)) {
      await vi.waitFor(async () => expect(podNames(await fleetOf(sidecar))).toEqual(['pod-1', 'pod-2']), { timeout: 10_000, interval: 50 });
    }
    // Gone by lease expiry (plus the heartbeat that notices and a margin for a busy machine).
    expect(performance.now() - killedAt).toBeLessThan(LEASE_MS + 4 * HEARTBEAT_S * 1000);
  });

  it('keeps serving when Redis dies mid-traffic: fleet_up 0, rebalancing paused (store_down), readiness untouched', async () => {
    const [one, two] = sidecars;
    await redis.kill();
    for (const sidecar of [one!, two!]) {
      await vi.waitFor(async () => expect(sample(parseExposition(await scrape(sidecar.adminPort)), 'ws_sidecar_fleet_up')).toBe(0), { timeout: 10_000, interval: 50 });
      const body = await fleetOf(sidecar);
      expect(body.storeUp).toBe(false);
      expect(body.rebalance).toEqual({ enabled: true, state: 'paused', reason: 'store_down' });
      expect((await getJson(sidecar.adminPort, '/readyz')).status).toBe(200);
    }
    // Existing connections carry messages, and new ones are admitted, on every pod.
    for (const [i, ws] of clients.slice(0, 3).entries()) expect(await echo(ws, `still here ${i}`)).toBe(`still here ${i}`);
    const fresh = await connect(two!.dataPort);
    clients.push(fresh);
    expect(await echo(fresh, 'new while down')).toBe('new while down');
    const series = parseExposition(await scrape(one!.adminPort));
    expect(sample(series, 'ws_sidecar_fleet_store_errors_total')).toBeGreaterThan(0);
    expect(sample(series, 'ws_sidecar_fleet_local_decisions_total')).toBeGreaterThan(0);
  });

  it('re-registers every pod when Redis comes back empty', async () => {
    await redis.restart();
    for (const sidecar of sidecars.slice(0, 2)) {
      await vi.waitFor(
        async () => {
          const body = await fleetOf(sidecar);
          expect(body.storeUp).toBe(true);
          expect(podNames(body)).toEqual(['pod-1', 'pod-2']);
          expect(body.connections).toBe(4);
        },
        { timeout: 15_000, interval: 50 },
      );
    }
    expect(sample(parseExposition(await scrape(sidecars[0]!.adminPort)), 'ws_sidecar_fleet_up')).toBe(1);
  });
});
