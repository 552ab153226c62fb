// The Redis store against a real redis-server: scripts, NOSCRIPT after a flush or a restart,
// calls that fail fast while the server is down or paused, and recovery without help.
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../proxy/config/logger.js';
import { parseRedisUrl } from '../../proxy/config/config.js';
import { RedisStore, reconnectDelayFor, STALLED_TIMEOUTS } from '../../proxy/fleet/redis-store.js';
import { StoreError, type StoreScript } from '../../proxy/fleet/store.js';
import { startBlackholeProxy } from '../helpers/blackhole-proxy.js';
import { redisMissing, redisSkipNote, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const ECHO: StoreScript = { name: 'echo', source: "return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}" };
// Generous: the machine running the tests may be busy; the paused-server test needs only an upper bound.
const TIMEOUT_MS = 1000;

function waitForState(store: RedisStore, up: boolean): Promise<void> {
  if (store.up === up) return Promise.resolve();
  return new Promise((resolve) => store.onStateChange((now) => now === up && resolve()));
}

describe.skipIf(redisMissing)(`Redis store${redisSkipNote}`, () => {
  let redis: RedisServer;
  let store: RedisStore;

  beforeAll(async () => {
    redis = await startRedisServer();
    store = new RedisStore({ target: parseRedisUrl(redis.url)!, timeoutMs: TIMEOUT_MS, logger: createLogger('silent') });
    store.start();
    await waitForState(store, true);
  });

  afterAll(async () => {
    await store?.close();
    await redis?.stop();
  });

  it('runs a script with keys and arguments', async () => {
    const reply = await store.run(ECHO, ['{t}:n'], ['hello']);
    expect(reply).toEqual(['{t}:n', 'hello', 1]);
    expect(store.up).toBe(true);
  });

  it('loads a script again when the server forgot it (SCRIPT FLUSH)', async () => {
    await store.run(ECHO, ['{t}:flush'], ['a']);
    const admin = createClient({ url: redis.url });
    admin.on('error', () => {});
    await admin.connect();
    await admin.sendCommand(['SCRIPT', 'FLUSH']);
    await admin.destroy();
    const calls = store.calls;
    expect(await store.run(ECHO, ['{t}:flush'], ['b'])).toEqual(['{t}:flush', 'b', 2]);
    // EVALSHA (NOSCRIPT), SCRIPT LOAD, EVALSHA.
    expect(store.calls - calls).toBe(3);
  });

  it('answers with a StoreError within the timeout while the server is paused, and recovers', async () => {
    redis.pause();
    try {
      const failure = await store.run(ECHO, ['{t}:slow'], ['x']).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(StoreError);
      // Settled by the call's own deadline, not by the server.
      expect((failure as StoreError).kind).toBe('timeout');
      expect(store.up).toBe(false);
    } finally {
      redis.resume();
    }
    await expect(store.run(ECHO, ['{t}:slow2'], ['y'])).resolves.toEqual(['{t}:slow2', 'y', 1]);
    expect(store.up).toBe(true);
  });

  it('fails at once while the server is down, reconnects by itself, and reloads scripts on an empty restart', async () => {
    await store.run(ECHO, ['{t}:restart'], ['1']);
    const errors = store.errors;
    const down = waitForState(store, false);
    await redis.kill();
    await down;
    const failure = await store.run(ECHO, ['{t}:restart'], ['2']).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StoreError);
    expect(['offline', 'timeout']).toContain((failure as StoreError).kind);
    expect(store.errors).toBeGreaterThan(errors);
    const up = waitForState(store, true);
    await redis.restart();
    await up;
    // Empty again: the counter starts over, so the script ran on the new server.
    expect(await store.run(ECHO, ['{t}:restart'], ['3'])).toEqual(['{t}:restart', '3', 1]);
  });

  it('replaces a connection that answers nothing (a partition, a failover to another address) after STALLED_TIMEOUTS calls', async () => {
    const proxy = await startBlackholeProxy(redis.port);
    const behind = new RedisStore({ target: parseRedisUrl(`redis://127.0.0.1:${proxy.port}`)!, timeoutMs: 300, logger: createLogger('silent') });
    try {
      behind.start();
      await waitForState(behind, true);
      await expect(behind.run(ECHO, ['{t}:hole'], ['a'])).resolves.toEqual(['{t}:hole', 'a', 1]);
      // TCP stays up and every byte vanishes: node-redis alone would wait on it for minutes.
      proxy.swallowOpenConnections();
      const kinds: string[] = [];
      let reply: unknown;
      for (let attempt = 0; attempt < 40 && reply === undefined; attempt++) {
        reply = await behind.run(ECHO, ['{t}:hole'], ['b']).catch((err: StoreError) => {
          kinds.push(err.kind);
          return new Promise((resolve) => setTimeout(resolve, 50)).then(() => undefined);
        });
      }
      expect(reply).toEqual(['{t}:hole', 'b', 2]);
      expect(kinds.slice(0, STALLED_TIMEOUTS)).toEqual(Array(STALLED_TIMEOUTS).fill('timeout'));
      expect(behind.replacedConnections).toBe(1);
      expect(behind.up).toBe(true);
    } finally {
      await behind.close();
      await proxy.close();
    }
  });

  it('backs off reconnects with a capped, jittered delay', () => {
    const first = Array.from({ length: 50 }, () => reconnectDelayFor(0));
    const late = Array.from({ length: 50 }, () => reconnectDelayFor(40));
    expect(Math.min(...first)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...first)).toBeLessThanOrEqual(100);
    expect(Math.max(...late)).toBeLessThanOrEqual(5000);
    expect(Math.min(...late)).toBeGreaterThanOrEqual(2500);
    expect(new Set(late).size).toBeGreaterThan(1);
  });

  it('closes without waiting for a server that is gone', async () => {
    const other = new RedisStore({ target: parseRedisUrl('redis://127.0.0.1:1')!, timeoutMs: TIMEOUT_MS, logger: createLogger('silent') });
    other.start();
    await expect(other.run(ECHO, ['{t}:x'], [])).rejects.toBeInstanceOf(StoreError);
    await other.close();
    expect(other.up).toBe(false);
  });
});

