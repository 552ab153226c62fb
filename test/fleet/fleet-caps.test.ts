// The fleet caps' scripts against a real redis-server: three pods' FleetCaps on their own
// connections, racing for the same slots; releases, re-statements that heal what the store
// lost, dead pods' slots coming back when their lease expires, local shares while it is down.
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FleetVerdict } from '../../proxy/admission/fleet-admission.js';
import { parseRedisUrl } from '../../proxy/config/config.js';
import { createLogger } from '../../proxy/config/logger.js';
import { FleetCaps, shareOf, type ShadowedRejection } from '../../proxy/fleet/fleet-caps.js';
import { fleetKeys } from '../../proxy/fleet/fleet-keys.js';
import { RedisStore } from '../../proxy/fleet/redis-store.js';
import { redisMissing, redisSkipNote, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const logger = createLogger('silent');

interface Pod {
  readonly caps: FleetCaps;
  readonly store: RedisStore;
  readonly local: number[];
  readonly shadowed: ShadowedRejection[];
}

describe.skipIf(redisMissing)(`fleet caps on a real store${redisSkipNote}`, () => {
  let redis: RedisServer;
  let reader: ReturnType<typeof createClient>;
  const stores: RedisStore[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    reader = createClient({ url: redis.url });
    reader.on('error', () => undefined);
    await reader.connect();
  });

  afterAll(async () => {
    for (const store of stores) await store.close();
    if (reader?.isOpen) reader.destroy();
    await redis?.stop();
  });

  async function pod(fleet: string, name: string, options: { fleetMax?: number; tenantMax?: number; shadow?: boolean; leaseMs?: number; pods?: number } = {}): Promise<Pod> {
    const store = new RedisStore({ target: parseRedisUrl(redis.url)!, timeoutMs: 2000, logger });
    stores.push(store);
    const up = new Promise<void>((resolve) => store.onStateChange((isUp) => isUp && resolve()));
    store.start();
    await up;
    const local: number[] = [];
    const shadowed: ShadowedRejection[] = [];
    const caps = new FleetCaps({
      store,
      keys: fleetKeys(fleet),
      podName: name,
      fleetMaxConnections: options.fleetMax ?? 0,
      maxConnectionsPerTenant: options.tenantMax ?? 0,
      shadow: options.shadow ?? false,
      timeoutMs: 2000,
      leaseMs: options.leaseMs ?? 60_000,
      podsLastSeen: () => options.pods ?? 3,
      counters: { localDecision: () => local.push(1), shadowed: (action) => shadowed.push(action) },
      logger,
    });
    return { caps, store, local, shadowed };
  }

  const count = (verdicts: FleetVerdict[], verdict: FleetVerdict): number => verdicts.filter((v) => v === verdict).length;
  const total = async (fleet: string): Promise<number> => Number((await reader.get(`${fleetKeys(fleet).tag}:caps:total`)) ?? 0);
  const tenantCount = async (fleet: string, tenant: string): Promise<number> => Number((await reader.zScore(`${fleetKeys(fleet).tag}:caps:tenants`, tenant)) ?? 0);

  it('300 acquires racing on 3 pods for a fleet cap of 100: exactly 100 admitted, one store call each', async () => {
    const pods = await Promise.all(['a', 'b', 'c'].map((name) => pod('race', name, { fleetMax: 100 })));
    // The first heartbeat's re-statement loads the script, as in a sidecar.
    await Promise.all(pods.map((p) => p.caps.restate()));
    const callsBefore = pods.map((p) => p.store.calls);
    const verdicts = await Promise.all(Array.from({ length: 300 }, (_, i) => pods[i % 3]!.caps.acquire(undefined)));
    expect(count(verdicts, 'admitted')).toBe(100);
    expect(count(verdicts, 'rejected_fleet_capacity')).toBe(200);
    expect(pods.map((p, i) => p.store.calls - callsBefore[i]!)).toEqual([100, 100, 100]);
    expect(await total('race')).toBe(100);
    expect(pods.reduce((sum, p) => sum + p.caps.view.held, 0)).toBe(100);
    expect(pods.flatMap((p) => p.local)).toEqual([]);
  });

  it('a tenant cap of 5 holds across pods while other tenants and the fleet cap are unaffected', async () => {
    const pods = await Promise.all(['a', 'b', 'c'].map((name) => pod('tenants', name, { fleetMax: 1000, tenantMax: 5 })));
    const acme = Promise.all(Array.from({ length: 40 }, (_, i) => pods[i % 3]!.caps.acquire('acme')));
    const others = Promise.all(Array.from({ length: 10 }, (_, i) => pods[i % 3]!.caps.acquire(i < 5 ? 'globex' : 'initech')));
    const [acmeVerdicts, otherVerdicts] = await Promise.all([acme, others]);
    expect(count(acmeVerdicts, 'admitted')).toBe(5);
    expect(count(acmeVerdicts, 'rejected_tenant_limit')).toBe(35);
    expect(count(otherVerdicts, 'admitted')).toBe(10);
    expect(await tenantCount('tenants', 'acme')).toBe(5);
    expect(await total('tenants')).toBe(15);
  });

  it('releases give slots back, never below 0, and remove a tenant that holds none', async () => {
    const [p] = await Promise.all([pod('release', 'a', { fleetMax: 2, tenantMax: 2 })]);
    expect(await p!.caps.acquire('t1')).toBe('admitted');
    expect(await p!.caps.acquire('t1')).toBe('admitted');
    expect(await p!.caps.acquire(undefined)).toBe('rejected_fleet_capacity');
    p!.caps.release('t1');
    p!.caps.release('t1');
    // One release too many (a bug elsewhere, or a store that forgot): nothing goes negative.
    p!.caps.release('t1');
    await p!.caps.restate();
    expect(await total('release')).toBe(0);
    expect(await reader.zCard(`${fleetKeys('release').tag}:caps:tenants`)).toBe(0);
    expect(await p!.caps.acquire('t1')).toBe('admitted');
  });

  it('releases of one moment go in one call: 250 closes at once (a drain) are all given back', async () => {
    const p = await pod('mass', 'a', { fleetMax: 1000, tenantMax: 1000 });
    await p.caps.restate();
    const verdicts = await Promise.all(Array.from({ length: 250 }, (_, i) => p.caps.acquire(i % 2 === 0 ? `t${i % 7}` : undefined)));
    expect(count(verdicts, 'admitted')).toBe(250);
    expect(await total('mass')).toBe(250);
    expect(p.local).toEqual([]);
    const callsBefore = p.store.calls;
    for (let i = 0; i < 250; i++) p.caps.release(i % 2 === 0 ? `t${i % 7}` : undefined);
    await vi.waitFor(async () => expect(await total('mass')).toBe(0), { timeout: 5000, interval: 20 });
    expect(p.store.calls - callsBefore).toBe(1);
    expect(await reader.zCard(`${fleetKeys('mass').tag}:caps:tenants`)).toBe(0);
    expect(await reader.hGetAll(`${fleetKeys('mass').tag}:caps:ledger:a`)).toEqual({ n: '0' });
  });

  it('a re-statement heals a store that lost or miscounted everything (flush, restart, failover)', async () => {
    const pods = await Promise.all(['a', 'b'].map((name) => pod('heal', name, { fleetMax: 50, tenantMax: 10 })));
    await Promise.all(Array.from({ length: 12 }, (_, i) => pods[i % 2]!.caps.acquire(i < 10 ? 'acme' : undefined)));
    await reader.flushAll();
    expect(await total('heal')).toBe(0);
    // In between, the store admits what it should not: acme looks empty.
    await Promise.all(pods.map((p) => p.caps.restate()));
    expect(await total('heal')).toBe(12);
    expect(await tenantCount('heal', 'acme')).toBe(10);
    expect(await pods[0]!.caps.acquire('acme')).toBe('rejected_tenant_limit');
    // Counts someone else wrote wrong are set right by the owners' next re-statements.
    await reader.set(`${fleetKeys('heal').tag}:caps:total`, '999');
    await reader.zAdd(`${fleetKeys('heal').tag}:caps:tenants`, { score: 77, value: 'acme' });
    await pods[0]!.caps.restate();
    expect(await total('heal')).toBe(12);
    await pods[1]!.caps.restate();
    expect(pods[0]!.caps.view).toMatchObject({ connections: 12, tenantsAtLimit: 1 });
  });

  it('a pod that stops re-stating (SIGKILL) has its slots given back when its lease expires', async () => {
    // Long enough that a loaded machine gets the rejection below in before the lease runs out.
    const leaseMs = 3000;
    const dead = await pod('crash', 'dead', { tenantMax: 30, leaseMs });
    const alive = await pod('crash', 'alive', { tenantMax: 30, leaseMs });
    await dead.caps.restate();
    const held = await Promise.all(Array.from({ length: 30 }, () => dead.caps.acquire('acme')));
    expect(count(held, 'admitted')).toBe(30);
    const stoppedAt = performance.now();
    expect(await alive.caps.acquire('acme')).toBe('rejected_tenant_limit');
    // `dead` never speaks again. A full cap makes the acquire look for expired ledgers.
    let verdict: FleetVerdict = 'rejected_tenant_limit';
    while (verdict !== 'admitted') {
      await new Promise((resolve) => setTimeout(resolve, 20));
      verdict = await alive.caps.acquire('acme');
    }
    expect(performance.now() - stoppedAt).toBeGreaterThanOrEqual(leaseMs - 50);
    expect(await tenantCount('crash', 'acme')).toBe(1);
    expect(await reader.exists(`${fleetKeys('crash').tag}:caps:ledger:dead`)).toBe(0);
  });

  it('leaving gives this pod\'s slots back at once', async () => {
    const p = await pod('leave', 'a', { fleetMax: 10, tenantMax: 5 });
    await Promise.all(Array.from({ length: 4 }, () => p.caps.acquire('acme')));
    expect(await total('leave')).toBe(4);
    await p.caps.leave();
    expect(await total('leave')).toBe(0);
    expect(await tenantCount('leave', 'acme')).toBe(0);
  });

  it('shadow mode admits everything and counts exactly the rejections it would have made', async () => {
    const pods = await Promise.all(['a', 'b', 'c'].map((name) => pod('shadow', name, { fleetMax: 20, tenantMax: 3, shadow: true })));
    const tenantVerdicts = await Promise.all(Array.from({ length: 10 }, (_, i) => pods[i % 3]!.caps.acquire('acme')));
    const fleetVerdicts = await Promise.all(Array.from({ length: 50 }, (_, i) => pods[i % 3]!.caps.acquire(undefined)));
    expect(count([...tenantVerdicts, ...fleetVerdicts], 'admitted')).toBe(60);
    const shadowed = pods.flatMap((p) => p.shadowed);
    expect(count(shadowed, 'rejected_tenant_limit')).toBe(7);
    expect(count(shadowed, 'rejected_fleet_capacity')).toBe(40);
    expect(await total('shadow')).toBe(60);
  });

  it('with the store down, decides at once on the pod\'s share (cap ÷ pods last seen) and counts it', async () => {
    const p = await pod('down', 'a', { fleetMax: 30, tenantMax: 5, pods: 3 });
    expect(shareOf(30, 3)).toBe(10);
    await redis.kill();
    try {
      const fleetVerdicts = await Promise.all(Array.from({ length: 15 }, () => p.caps.acquire(undefined)));
      expect(count(fleetVerdicts, 'admitted')).toBe(10);
      expect(count(fleetVerdicts, 'rejected_fleet_capacity')).toBe(5);
      for (let i = 0; i < 3; i++) p.caps.release(undefined);
      const tenantVerdicts = await Promise.all(Array.from({ length: 3 }, () => p.caps.acquire('acme')));
      // 5 ÷ 3 pods: one acme connection per pod.
      expect(tenantVerdicts.sort()).toEqual(['admitted', 'rejected_tenant_limit', 'rejected_tenant_limit']);
      expect(p.local.length).toBe(18);
    } finally {
      await redis.restart();
      await reader.connect().catch(() => undefined);
    }
  });
});
