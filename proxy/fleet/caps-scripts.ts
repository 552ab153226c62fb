// The fleet caps as one atomic script over the fleet's keys (one script, so the first
// heartbeat's re-statement has it loaded before the first handshake needs it). The truth is
// each pod's own ledger (a hash: `n` → connections it holds, `t:<tenant>` → its connections of
// that tenant); the fleet total and the tenants' counts (a sorted set) are the ledgers' sums,
// kept so by every operation. Ledgers of pods whose caps lease expired are subtracted and
// removed (reaped) by whoever sees them first, so a SIGKILLed pod's slots come back. Counts
// never go below 0. A dead pod's ledger key is built from the prefix (not passed in KEYS):
// it shares the fleet's hash tag, so a Redis Cluster keeps it on the same slot.
import type { StoreScript } from './store.js';

/**
 * KEYS: total (string), tenants (zset tenant → count), ledgers (zset pod → lease expiry, server
 * ms), this pod's ledger (hash). ARGV[1] is the operation; its arguments follow:
 *
 * - `acquire` pod, fleet cap (0 = none), tenant cap, tenant ('' = none), shadow ('1': take the
 *   slot whatever the verdict), lease ms, ledger prefix → [verdict, taken]; verdict 0 admitted,
 *   1 fleet at capacity, 2 tenant at its limit. Checks both caps and takes both slots together.
 * - `release` count, then tenant, count pairs → slots given back. Releases of one moment go
 *   together. Gives back only what this pod's ledger holds (a store that forgot it, after a
 *   flush or restart, is left alone).
 * - `restate` pod, lease ms, ledger prefix, tenant cap, total held, then tenant, count pairs →
 *   [fleet total, tenants at their cap, pods with a ledger]. Each heartbeat: renews this pod's
 *   caps lease, reaps dead ledgers, replaces this ledger (moving the tenants' counts by the
 *   difference) and recounts the fleet total from the live ledgers, so lost releases, a flush,
 *   a restart or a failover heal here.
 * - `leave` pod, ledger prefix → 1 if it had a ledger: its slots come back at once.
 */
export const CAPS_SCRIPT: StoreScript = Object.freeze({
  name: 'caps',
  source: `
local total_key, tenants_key, ledgers_key, own_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function add_total(delta)
  if redis.call('INCRBY', total_key, delta) < 0 then redis.call('SET', total_key, 0) end
end
local function add_tenant(tenant, delta)
  if tonumber(redis.call('ZINCRBY', tenants_key, delta, tenant)) <= 0 then redis.call('ZREM', tenants_key, tenant) end
end
local function reap(now, prefix)
  local dead = redis.call('ZRANGEBYSCORE', ledgers_key, '-inf', now)
  for _, pod in ipairs(dead) do
    local key = prefix .. pod
    local fields = redis.call('HGETALL', key)
    for i = 1, #fields, 2 do
      local field, count = fields[i], tonumber(fields[i + 1])
      if count > 0 then
        if field == 'n' then add_total(-count)
        elseif string.sub(field, 1, 2) == 't:' then add_tenant(string.sub(field, 3), -count) end
      end
    end
    redis.call('DEL', key)
    redis.call('ZREM', ledgers_key, pod)
  end
  return #dead
end

local op = ARGV[1]
if op == 'acquire' then
  local pod, fleet_cap, tenant_cap, tenant = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
  local now = now_ms()
  local function verdict()
    if fleet_cap > 0 and tonumber(redis.call('GET', total_key) or '0') >= fleet_cap then return 1 end
    if tenant ~= '' and tenant_cap > 0 and tonumber(redis.call('ZSCORE', tenants_key, tenant) or '0') >= tenant_cap then return 2 end
    return 0
  end
  local v = verdict()
  -- Only a full cap is worth a look for dead pods: their slots may be what fills it.
  if v ~= 0 and reap(now, ARGV[8]) > 0 then v = verdict() end
  if v ~= 0 and ARGV[6] ~= '1' then return {v, 0} end
  add_total(1)
  redis.call('HINCRBY', own_key, 'n', 1)
  if tenant ~= '' then
    add_tenant(tenant, 1)
    redis.call('HINCRBY', own_key, 't:' .. tenant, 1)
  end
  -- A pod that acquires before its first re-statement already has a lease to expire.
  redis.call('ZADD', ledgers_key, 'NX', now + tonumber(ARGV[7]), pod)
  return {v, 1}
end

if op == 'release' then
  local function give_back(field, count)
    local held = math.max(tonumber(redis.call('HGET', own_key, field) or '0'), 0)
    local given = math.min(count, held)
    if held - given <= 0 and field ~= 'n' then redis.call('HDEL', own_key, field)
    else redis.call('HSET', own_key, field, held - given) end
    return given
  end
  local given = give_back('n', tonumber(ARGV[2]))
  if given > 0 then add_total(-given) end
  for i = 3, #ARGV, 2 do
    local tenant = ARGV[i]
    local count = give_back('t:' .. tenant, tonumber(ARGV[i + 1]))
    if count > 0 then add_tenant(tenant, -count) end
  end
  return given
end

if op == 'restate' then
  local pod, prefix, tenant_cap = ARGV[2], ARGV[4], tonumber(ARGV[5])
  local now = now_ms()
  redis.call('ZADD', ledgers_key, now + tonumber(ARGV[3]), pod)
  reap(now, prefix)
  local old = {}
  local fields = redis.call('HGETALL', own_key)
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, 2) == 't:' then old[string.sub(fields[i], 3)] = tonumber(fields[i + 1]) end
  end
  redis.call('DEL', own_key)
  redis.call('HSET', own_key, 'n', ARGV[6])
  for i = 7, #ARGV, 2 do
    local tenant, count = ARGV[i], tonumber(ARGV[i + 1])
    local delta = count - math.max(old[tenant] or 0, 0)
    if delta ~= 0 then add_tenant(tenant, delta) end
    old[tenant] = nil
    redis.call('HSET', own_key, 't:' .. tenant, count)
  end
  for tenant, count in pairs(old) do
    if count > 0 then add_tenant(tenant, -count) end
  end
  local sum = 0
  local pods = redis.call('ZRANGE', ledgers_key, 0, -1)
  for _, member in ipairs(pods) do sum = sum + math.max(tonumber(redis.call('HGET', prefix .. member, 'n') or '0'), 0) end
  redis.call('SET', total_key, sum)
  local at_limit = 0
  if tenant_cap > 0 then at_limit = redis.call('ZCOUNT', tenants_key, tenant_cap, '+inf') end
  return {sum, at_limit, #pods}
end

if op == 'leave' then
  -- Expired as of the epoch: reaping at time 0 takes this ledger and no live one.
  redis.call('ZADD', ledgers_key, 0, ARGV[2])
  return reap(0, ARGV[3])
end

return redis.error_reply('caps: unknown operation ' .. tostring(op))
`,
});
