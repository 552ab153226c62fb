// Membership against a real redis-server: leases renewed on the server's clock, the fleet seen
// by every member, silent pods reaped when their lease expires, a store restarted empty refilled.
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseRedisUrl } from '../../proxy/config/config.js';
import { createLogger } from '../../proxy/config/logger.js';
import { fleetKeys } from '../../proxy/fleet/fleet-keys.js';
import { Membership, type FleetSnapshot } from '../../proxy/fleet/membership.js';
import { RedisStore } from '../../proxy/fleet/redis-store.js';
import { redisMissing, redisSkipNote, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const HEARTBEAT_MS = 100;
const logger = createLogger('silent');

describe.skipIf(redisMissing)(`fleet membership${redisSkipNote}`, () => {
  let redis: RedisServer;
  let store: RedisStore;
  const members: Membership[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    store = new RedisStore({ target: parseRedisUrl(redis.url)!, timeoutMs: 1000, logger });
    store.start();
  });

  afterEach(() => {
    for (const member of members.splice(0)) member.stop();
  });

  afterAll(async () => {
    await store?.close();
    await redis?.stop();
  });

  function join(fleet: string, pod: string, connections = 0, extra: Partial<{ draining: boolean; revision: string }> = {}): Membership {
    const member = new Membership({
      store,
      keys: fleetKeys(fleet),
      podName: pod,
      revision: extra.revision ?? 'r1',
      heartbeatMs: HEARTBEAT_MS,
      local: { connections: () => connections, maxConnections: 100, ready: () => true, draining: () => extra.draining ?? false },
      logger,
    });
    members.push(member);
    member.start();
    return member;
  }

  /** The first snapshot of `member` that satisfies `predicate`. */
  function until(member: Membership, predicate: (snapshot: FleetSnapshot) => boolean): Promise<FleetSnapshot> {
    if (member.snapshot && predicate(member.snapshot)) return Promise.resolve(member.snapshot);
    return new Promise((resolve) => member.onHeartbeat((snapshot) => void (predicate(snapshot) && resolve(snapshot))));
  }

  const podsOf = (snapshot: FleetSnapshot): string[] => snapshot.pods.map((pod) => pod.pod);

  it('every member sees the others with what they publish', async () => {
    const a = join('see', 'pod-a', 3);
    join('see', 'pod-b', 5, { draining: true, revision: 'r2' });
    const seen = await until(a, (s) => s.pods.length === 2);
    expect(podsOf(seen)).toEqual(['pod-a', 'pod-b']);
    const b = seen.pods.find((pod) => pod.pod === 'pod-b')!;
    expect(b).toMatchObject({ revision: 'r2', connections: 5, maxConnections: 100, ready: true, draining: true });
    expect(b.lastSeenMs).toBeGreaterThanOrEqual(0);
    expect(b.lastSeenMs).toBeLessThan(a.leaseMs);
  });

  it('keeps every key of a fleet under one hash tag', async () => {
    const a = join('tagged/app', 'pod-a');
    await until(a, (s) => s.pods.length === 1);
    const admin = createClient({ url: redis.url });
    admin.on('error', () => {});
    await admin.connect();
    const keys = await admin.keys('*tagged/app*');
    await admin.destroy();
    expect(keys.sort()).toEqual(['{ws-sidecar:tagged/app}:leases', '{ws-sidecar:tagged/app}:pods']);
  });

  it('reaps a pod that stops renewing once its lease expires, and reports it', async () => {
    const a = join('reap', 'pod-a');
    const silent = join('reap', 'pod-silent');
    await until(a, (s) => s.pods.length === 2);
    silent.stop();
    const after = await until(a, (s) => s.reaped.includes('pod-silent'));
    expect(podsOf(after)).toEqual(['pod-a']);
  });

  it('a pod that leaves is gone at once', async () => {
    const a = join('leave', 'pod-a');
    const b = join('leave', 'pod-b');
    await until(a, (s) => s.pods.length === 2);
    await b.leave();
    const after = await until(a, (s) => s.pods.length === 1);
    expect(after.reaped).toEqual([]);
    expect(podsOf(after)).toEqual(['pod-a']);
  });

  it('re-registers by itself when the store comes back empty', async () => {
    const a = join('restart', 'pod-a');
    join('restart', 'pod-b');
    await until(a, (s) => s.pods.length === 2);
    await redis.restart();
    const restartedAt = performance.now();
    const whole = await until(a, (s) => s.receivedAt > restartedAt && s.pods.length === 2);
    expect(podsOf(whole)).toEqual(['pod-a', 'pod-b']);
    const admin = createClient({ url: redis.url });
    admin.on('error', () => {});
    await admin.connect();
    const leases = await admin.zRange('{ws-sidecar:restart}:leases', 0, -1);
    await admin.destroy();
    expect(leases.sort()).toEqual(['pod-a', 'pod-b']);
  });
});
