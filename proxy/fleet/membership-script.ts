// The heartbeat, as one atomic script timed by the Redis server's clock (pod clocks may
// disagree; the server's is the only one every pod sees). It reaps expired leases, renews
// this pod's, and answers with the whole fleet, so one round trip per heartbeat is all
// membership costs.
import type { StoreScript } from './store.js';

/**
 * KEYS: leases (zset pod → expiry ms), pods (hash pod → state JSON).
 * ARGV: pod, state JSON, lease ms.
 * Reply: [server now ms, [reaped pods…], [pod, state JSON, pod, state JSON, …]].
 */
export const HEARTBEAT_SCRIPT: StoreScript = Object.freeze({
  name: 'heartbeat',
  source: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local reaped = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, pod in ipairs(reaped) do
  redis.call('ZREM', KEYS[1], pod)
  redis.call('HDEL', KEYS[2], pod)
end
local state = cjson.decode(ARGV[2])
state.renewedAtMs = now
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(state))
return {now, reaped, redis.call('HGETALL', KEYS[2])}
`,
});

/**
 * Leaving on purpose (exit after a drain): the lease goes at once instead of expiring.
 * KEYS: leases, pods. ARGV: pod. Reply: 1 if it was registered.
 */
export const DEREGISTER_SCRIPT: StoreScript = Object.freeze({
  name: 'deregister',
  source: `
redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])
`,
});
