// Fleet-wide and per-tenant caps end to end: three real sidecars (the CLI) sharing a real
// redis-server, real ws clients. Overshoot under concurrency, a SIGKILLed pod's slots coming
// back within a lease, a flushed or restarted store healing within a heartbeat, the store
// down (local shares), shadow mode, and a handshake waiting on a stalled store.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { getJson, parseExposition, sample, scrape } from '../helpers/admin-client.js';
import { startApp, type TestApp } from '../helpers/apps.js';
import { redisMissing, redisSkipNote, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startSidecarProcess, type SidecarProcess } from '../helpers/sidecar-process.js';
import { attempt, opened, refused, type Attempt } from '../helpers/upgrade-attempt.js';

interface CapsBody {
  storeUp: boolean;
  pods: Array<{ pod: string }>;
  caps: { maxConnections: number; maxConnectionsPerTenant: number; connections?: number; tenantsAtLimit?: number; held: number; awaitingStore: number; shadow: boolean };
}

const fleetOf = async (sidecar: SidecarProcess): Promise<CapsBody> => (await getJson<CapsBody>(sidecar.adminPort, '/fleet')).body;

async function metricSum(sidecars: SidecarProcess[], name: string, labels: Record<string, string> = {}): Promise<number> {
  let total = 0;
  for (const sidecar of sidecars) total += sample(parseExposition(await scrape(sidecar.adminPort)), name, labels) ?? 0;
  return total;
}

/** An upgrade request sent by hand, its answer never read: a client that may walk away mid-handshake. */
async function rawUpgradeRequest(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  return socket;
}

const statusOf = (r: Attempt): number | string => (r.kind === 'http' ? r.status : r.kind);

describe.skipIf(redisMissing)(`fleet caps with three sidecars and a real Redis${redisSkipNote}`, () => {
  let redis: RedisServer;
  let app: TestApp;
  let reader: ReturnType<typeof createClient>;
  const running: SidecarProcess[] = [];
  const attempts: Attempt[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    app = await startApp();
    reader = createClient({ url: redis.url, socket: { reconnectStrategy: () => 50 } });
    reader.on('error', () => undefined);
    await reader.connect();
  });

  afterEach(async () => {
    for (const r of opened(attempts.splice(0))) r.ws.terminate();
    for (const sidecar of running.splice(0)) sidecar.kill();
  });

  afterAll(async () => {
    if (reader?.isOpen) reader.destroy();
    await app?.close();
    await redis?.stop();
  });

  /** Three pods of one fleet in front of the app, each seeing the other two. */
  async function startFleet(fleet: string, heartbeatS: number, args: string[]): Promise<SidecarProcess[]> {
    const sidecars = await Promise.all(
      [1, 2, 3].map((i) =>
        startSidecarProcess([
          '--upstream', `http://127.0.0.1:${app.port}`,
          '--fleet-redis', redis.url,
          '--fleet-name', fleet,
          '--pod-name', `pod-${i}`,
          '--fleet-heartbeat', String(heartbeatS),
          // Long enough that a loaded machine never falls back to local shares unless the test means it to.
          '--fleet-timeout', String(heartbeatS * 0.9),
          '--max-connections', '1000',
          ...args,
        ]),
      ),
    );
    running.push(...sidecars);
    for (const sidecar of sidecars) {
      // A pod sees the ones that started after it at its next beat.
      await vi.waitFor(async () => expect((await fleetOf(sidecar)).pods.length).toBe(3), { timeout: heartbeatS * 2000 + 15_000, interval: 50 });
    }
    return sidecars;
  }

  async function attemptAll(urls: string[], options: Parameters<typeof attempt>[1] = {}): Promise<Attempt[]> {
    const results = await Promise.all(urls.map((url) => attempt(url, options)));
    attempts.push(...results);
    return results;
  }

  const urlsOver = (sidecars: SidecarProcess[], count: number, path = '/'): string[] =>
    Array.from({ length: count }, (_, i) => `ws://127.0.0.1:${sidecars[i % sidecars.length]!.dataPort}${path}`);
  const storeTotal = async (fleet: string): Promise<number> => Number((await reader.get(`{ws-sidecar:${fleet}}:caps:total`)) ?? 0);
  const storeTenant = async (fleet: string, tenant: string): Promise<number> => Number((await reader.zScore(`{ws-sidecar:${fleet}}:caps:tenants`, tenant)) ?? 0);

  it('overshoot: 300 clients at once over 3 pods for --fleet-max-connections 100 → exactly 100; a tenant capped at 5 gets exactly 5 of 40 while others are unaffected', async () => {
    const fleet = 'caps/overshoot';
    // Long heartbeats (and so a long --fleet-timeout): exactness needs every decision from the store.
    const pods = await startFleet(fleet, 10, ['--fleet-max-connections', '100', '--tenant-from', 'header:x-tenant', '--trusted-proxies', '127.0.0.1/32', '--max-connections-per-tenant', '5']);

    // All at once, spread over the pods: exactly the cap gets in, the rest are told to come back.
    const crowd = await attemptAll(urlsOver(pods, 300));
    expect(opened(crowd).length).toBe(100);
    const turnedAway = refused(crowd);
    expect(turnedAway.length).toBe(200);
    for (const r of turnedAway) {
      expect(r.status).toBe(503);
      expect(Number(r.retryAfter)).toBeGreaterThan(0);
      expect(JSON.parse(r.body)).toMatchObject({ error: 'fleet_at_capacity' });
    }
    expect(await metricSum(pods, 'ws_sidecar_connections_total', { outcome: 'rejected_fleet_capacity' })).toBe(200);
    expect(await metricSum(pods, 'ws_sidecar_connections_total', { outcome: 'accepted' })).toBe(100);
    expect(await storeTotal(fleet)).toBe(100);
    await vi.waitFor(async () => expect((await fleetOf(pods[1]!)).caps).toMatchObject({ maxConnections: 100, connections: 100 }), { timeout: 30_000, interval: 100 });

    // Closing gives the slots back across the fleet.
    for (const r of opened(crowd)) r.ws.close();
    await Promise.all(opened(crowd).map((r) => r.closed));
    await vi.waitFor(async () => expect(await storeTotal(fleet)).toBe(0), { timeout: 10_000, interval: 50 });

    // One tenant, 40 at once over the pods, capped at 5; two other tenants beside it.
    const [acme, others] = await Promise.all([
      attemptAll(urlsOver(pods, 40), { headers: { 'X-Tenant': 'acme' } }),
      Promise.all([attemptAll(urlsOver(pods, 4), { headers: { 'X-Tenant': 'globex' } }), attemptAll(urlsOver(pods, 4), { headers: { 'X-Tenant': 'initech' } })]),
    ]);
    expect(opened(acme).length).toBe(5);
    expect(refused(acme).length).toBe(35);
    for (const r of refused(acme)) {
      expect(r.status).toBe(429);
      expect(Number(r.retryAfter)).toBeGreaterThan(0);
      expect(JSON.parse(r.body)).toMatchObject({ error: 'tenant_limit' });
    }
    expect(opened(others.flat()).length).toBe(8);
    expect(await metricSum(pods, 'ws_sidecar_connections_total', { outcome: 'rejected_tenant_limit' })).toBe(35);
    expect(await storeTenant(fleet, 'acme')).toBe(5);
    // /fleet: the fleet against its cap, and how many tenants are at theirs (names never shown).
    await vi.waitFor(async () => expect((await fleetOf(pods[0]!)).caps).toMatchObject({ maxConnections: 100, connections: 13, maxConnectionsPerTenant: 5, tenantsAtLimit: 1 }), { timeout: 30_000, interval: 100 });
    expect(await scrape(pods[0]!.adminPort)).not.toMatch(/acme|globex|initech/);
    expect(JSON.stringify(await fleetOf(pods[0]!))).not.toMatch(/acme|globex|initech/);
    expect(await metricSum(pods, 'ws_sidecar_fleet_local_decisions_total')).toBe(0);

    // Two of acme's leave (on whichever pods): exactly two more of acme's get in, anywhere.
    const leaving = opened(acme).slice(0, 2);
    for (const r of leaving) r.ws.close();
    await Promise.all(leaving.map((r) => r.closed));
    await vi.waitFor(async () => expect(await storeTenant(fleet, 'acme')).toBe(3), { timeout: 10_000, interval: 50 });
    const again = await attemptAll(urlsOver(pods, 6), { headers: { 'X-Tenant': 'acme' } });
    expect(opened(again).length).toBe(2);
    expect(refused(again).length).toBe(4);
  }, 120_000);

  it('crash safety: a tenant capped at 30 with all 30 on a SIGKILLed pod connects again within a lease; a flush or a restart of Redis heals within a heartbeat', async () => {
    const fleet = 'caps/crash';
    const heartbeatS = 1;
    const leaseMs = heartbeatS * 4 * 1000;
    const pods = await startFleet(fleet, heartbeatS, ['--tenant-from', 'query:tenant', '--max-connections-per-tenant', '30']);
    const [victim, survivor, third] = pods as [SidecarProcess, SidecarProcess, SidecarProcess];
    const acmeOn = (sidecar: SidecarProcess, count: number): string[] => urlsOver([sidecar], count, '/chat?tenant=acme');

    expect(opened(await attemptAll(acmeOn(victim, 30))).length).toBe(30);
    expect((await attemptAll(acmeOn(survivor, 1))).map(statusOf)).toEqual([429]);

    victim.kill('SIGKILL');
    const killedAt = performance.now();
    await victim.exited;
    let admitted: Attempt | undefined;
    while (!admitted) {
      const [r] = await attemptAll(acmeOn(survivor, 1));
      if (r!.kind === 'open') admitted = r;
      else {
        expect(statusOf(r!)).toBe(429);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const waitedMs = performance.now() - killedAt;
    // The dead pod's lease was renewed at most a heartbeat before the kill.
    expect(waitedMs).toBeLessThan(leaseMs + 1000);
    // All 30 are the tenant's again: 29 more, then the cap.
    expect(opened(await attemptAll([...acmeOn(survivor, 15), ...acmeOn(third, 14)])).length).toBe(29);
    expect((await attemptAll(acmeOn(third, 1))).map(statusOf)).toEqual([429]);

    // Flushed: the counts are back from the pods' ledgers within a heartbeat.
    await reader.flushAll();
    const flushedAt = performance.now();
    await vi.waitFor(async () => expect(await storeTenant(fleet, 'acme')).toBe(30), { timeout: 10_000, interval: 20 });
    expect(performance.now() - flushedAt).toBeLessThan(heartbeatS * 1000 * 2 + 500);
    expect((await attemptAll(acmeOn(survivor, 1))).map(statusOf)).toEqual([429]);

    // Restarted empty (and its scripts gone): the same, once the pods have reconnected.
    await redis.restart();
    await vi.waitFor(async () => expect(await storeTenant(fleet, 'acme')).toBe(30), { timeout: 20_000, interval: 50 });
    expect(await storeTotal(fleet)).toBe(30);
    expect((await attemptAll(acmeOn(third, 1))).map(statusOf)).toEqual([429]);
  }, 120_000);

  it('store down: the pod\'s share of each cap (cap ÷ 3 pods) applies at once, nothing hangs, each decision is counted; it recovers by itself', async () => {
    const fleet = 'caps/down';
    const pods = await startFleet(fleet, 1, ['--fleet-max-connections', '30', '--tenant-from', 'query:tenant', '--max-connections-per-tenant', '6']);
    await redis.kill();
    try {
      const fleetDecisions = await attemptAll(urlsOver([pods[0]!], 15));
      expect(opened(fleetDecisions).length).toBe(10);
      expect(refused(fleetDecisions).map((r) => r.status)).toEqual([503, 503, 503, 503, 503]);
      const tenantDecisions = await attemptAll(urlsOver([pods[1]!], 4, '/?tenant=acme'));
      expect(opened(tenantDecisions).length).toBe(2);
      expect(refused(tenantDecisions).map((r) => r.status)).toEqual([429, 429]);
      expect(await metricSum([pods[0]!], 'ws_sidecar_fleet_local_decisions_total')).toBe(15);
      expect(await metricSum([pods[1]!], 'ws_sidecar_fleet_local_decisions_total')).toBe(4);
      // The per-pod checks still answer first: plain per-pod limits never wait on anything.
      expect((await fleetOf(pods[0]!)).storeUp).toBe(false);
    } finally {
      await redis.restart();
    }
    // Back: the ledgers are re-stated and the store decides again.
    await vi.waitFor(async () => expect(await storeTotal(fleet)).toBe(12), { timeout: 20_000, interval: 50 });
    const before = await metricSum(pods, 'ws_sidecar_fleet_local_decisions_total');
    expect(opened(await attemptAll(urlsOver([pods[2]!], 18))).length).toBe(18);
    expect((await attemptAll(urlsOver([pods[2]!], 1))).map(statusOf)).toEqual([503]);
    expect(await metricSum(pods, 'ws_sidecar_fleet_local_decisions_total')).toBe(before);
  }, 120_000);

  it('--fleet-shadow: nothing is rejected, and the would-be rejections are counted exactly', async () => {
    const fleet = 'caps/shadow';
    const pods = await startFleet(fleet, 2, ['--fleet-shadow', '--fleet-max-connections', '20', '--tenant-from', 'query:tenant', '--max-connections-per-tenant', '3']);
    const tenant = await attemptAll(urlsOver(pods, 10, '/?tenant=acme'));
    const crowd = await attemptAll(urlsOver(pods, 50));
    expect(opened([...tenant, ...crowd]).length).toBe(60);
    expect(await metricSum(pods, 'ws_sidecar_fleet_shadow_total', { action: 'rejected_tenant_limit' })).toBe(7);
    expect(await metricSum(pods, 'ws_sidecar_fleet_shadow_total', { action: 'rejected_fleet_capacity' })).toBe(40);
    expect(await metricSum(pods, 'ws_sidecar_connections_total', { outcome: 'rejected_fleet_capacity' })).toBe(0);
    expect(await metricSum(pods, 'ws_sidecar_connections_total', { outcome: 'rejected_tenant_limit' })).toBe(0);
    expect(await storeTotal(fleet)).toBe(60);
  }, 120_000);

  it('a stalled store: the handshake waits at most --fleet-timeout holding its slot, which it gives back when its client left, and a drain meanwhile turns it away', async () => {
    const fleet = 'caps/stalled';
    const sidecar = await startSidecarProcess([
      '--upstream', `http://127.0.0.1:${app.port}`,
      '--fleet-redis', redis.url, '--fleet-name', fleet, '--pod-name', 'solo',
      '--fleet-heartbeat', '5', '--fleet-timeout', '1.5',
      '--fleet-max-connections', '10', '--max-connections', '1',
    ]);
    running.push(sidecar);
    await vi.waitFor(async () => expect((await fleetOf(sidecar)).pods.length).toBe(1), { timeout: 15_000, interval: 50 });
    const url = `ws://127.0.0.1:${sidecar.dataPort}/`;
    redis.pause();
    try {
      // A client that gives up while its handshake waits on the store: the pod's only slot must come back.
      const quitter = await rawUpgradeRequest(sidecar.dataPort);
      await vi.waitFor(async () => expect((await fleetOf(sidecar)).caps.awaitingStore).toBe(1), { timeout: 5000, interval: 20 });
      quitter.destroy();
      await vi.waitFor(async () => expect(await metricSum([sidecar], 'ws_sidecar_fleet_local_decisions_total')).toBe(1), { timeout: 5000, interval: 50 });
      const next = await attemptAll([url]);
      expect(next.map(statusOf)).toEqual(['open']);
      opened(next)[0]!.ws.terminate();
      await vi.waitFor(async () => expect((await fleetOf(sidecar)).caps.held).toBe(0), { timeout: 5000, interval: 20 });

      // The store back, then stalled again (its silent connection may have been replaced meanwhile,
      // and a new one to a stopped server never gets ready, so nothing would wait on it).
      redis.resume();
      await vi.waitFor(async () => expect((await fleetOf(sidecar)).storeUp).toBe(true), { timeout: 15_000, interval: 50 });
      redis.pause();
      // A drain that starts while the store is asked: the verdict comes back to a draining pod.
      const waiting = attemptAll([url]);
      await vi.waitFor(async () => expect((await fleetOf(sidecar)).caps.awaitingStore).toBe(1), { timeout: 5000, interval: 20 });
      const drained = fetch(`http://127.0.0.1:${sidecar.adminPort}/drain?wait=1`, { method: 'POST' });
      const [turned] = await waiting;
      expect(statusOf(turned!)).toBe(503);
      expect(turned!.kind === 'http' && JSON.parse(turned!.body)).toMatchObject({ error: 'draining' });
      expect((await drained).status).toBe(200);
      expect((await fleetOf(sidecar)).caps).toMatchObject({ held: 0, awaitingStore: 0 });
    } finally {
      redis.resume();
    }
  }, 60_000);
});
