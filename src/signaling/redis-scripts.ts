/**
 * The Lua scripts of the Redis room store (src/signaling/redis-store.ts). Redis runs a script atomically (no other
 * command runs in between: https://redis.io/docs/latest/develop/interact/programmability/eval-intro/), which is what
 * makes the room cap hold across instances: the capacity check and the insert are one step.
 *
 * Keys (P = the prefix, `serve --redis-prefix`, default "rtc:"):
 *   P room:<room>     sorted set of "<peer> <instance>", scored by version (so ZRANGE lists oldest first)
 *   P seq             the version counter (never below Redis's clock in µs, so it survives a Redis restart)
 *   P count           hash {rooms, peers}: rooms with members, memberships
 *   P held:<inst>     set of "<room> <peer>" memberships held by one instance (what to remove when it dies)
 *   P insts           set of instance ids that may hold memberships
 *   P inst:<inst>     an instance's presence (PX = the heartbeat interval, refreshed three times per interval)
 *   P reaped:<inst>   tombstone (1 h): this instance was declared dead; if it comes back it must start over
 *
 * Scripts read room keys they build from ARGV (REAP): that needs one Redis, not a Redis Cluster (documented).
 */

/** Next version: INCR, but never below Redis's clock in µs (after a restart that lost the counter, versions still grow). */
const NEXT_SEQ = `
local function nextseq(key)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local s = redis.call('INCR', key)
  if s <= now then
    s = now
    redis.call('SET', key, string.format('%.0f', s))
  end
  return s
end
`;

/** KEYS: room, seq, count, held, insts. ARGV: member, capacity, held entry, instance. → {1, seq, members} | {0} (full) */
export const JOIN = `${NEXT_SEQ}
local rk = KEYS[1]
if redis.call('ZSCORE', rk, ARGV[1]) then
  return {1, tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('ZRANGE', rk, 0, -1, 'WITHSCORES')}
end
local n = redis.call('ZCARD', rk)
if n >= tonumber(ARGV[2]) then return {0} end
local seq = nextseq(KEYS[2])
redis.call('ZADD', rk, string.format('%.0f', seq), ARGV[1])
if n == 0 then redis.call('HINCRBY', KEYS[3], 'rooms', 1) end
redis.call('HINCRBY', KEYS[3], 'peers', 1)
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('SADD', KEYS[5], ARGV[4])
return {1, seq, redis.call('ZRANGE', rk, 0, -1, 'WITHSCORES')}
`;

/** KEYS: room, seq, count, held. ARGV: member, held entry. → {1, seq, remaining members} | {0} (not a member) */
export const LEAVE = `${NEXT_SEQ}
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return {0} end
redis.call('SREM', KEYS[4], ARGV[2])
redis.call('HINCRBY', KEYS[3], 'peers', -1)
local rest = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
if #rest == 0 then redis.call('HINCRBY', KEYS[3], 'rooms', -1) end
return {1, nextseq(KEYS[2]), rest}
`;

/**
 * Put a membership back after the store lost it (Redis restarted empty), at its old place in the order.
 * KEYS: room, seq, count, held, insts. ARGV: member, capacity, held entry, instance, score.
 * → {1} (still there) | {2, seq, members} (put back) | {0} (the room filled up meanwhile)
 */
export const REJOIN = `${NEXT_SEQ}
local rk = KEYS[1]
if redis.call('ZSCORE', rk, ARGV[1]) then return {1} end
local n = redis.call('ZCARD', rk)
if n >= tonumber(ARGV[2]) then return {0} end
redis.call('ZADD', rk, ARGV[5], ARGV[1])
if n == 0 then redis.call('HINCRBY', KEYS[3], 'rooms', 1) end
redis.call('HINCRBY', KEYS[3], 'peers', 1)
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('SADD', KEYS[5], ARGV[4])
return {2, nextseq(KEYS[2]), redis.call('ZRANGE', rk, 0, -1, 'WITHSCORES')}
`;

/**
 * Remove every membership of an instance whose presence expired (it died, or lost Redis for longer than its TTL).
 * KEYS: its presence, its held set, insts, count, seq, its tombstone. ARGV: its id, the room key prefix.
 * → {} while it is alive; else {{room, peer, seq, remaining members}, ...}
 */
export const REAP = `${NEXT_SEQ}
if redis.call('EXISTS', KEYS[1]) == 1 then return {} end
local out = {}
for _, e in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local sp = string.find(e, ' ', 1, true)
  if sp then
    local room = string.sub(e, 1, sp - 1)
    local peer = string.sub(e, sp + 1)
    local rk = ARGV[2] .. room
    if redis.call('ZREM', rk, peer .. ' ' .. ARGV[1]) == 1 then
      redis.call('HINCRBY', KEYS[4], 'peers', -1)
      local rest = redis.call('ZRANGE', rk, 0, -1, 'WITHSCORES')
      if #rest == 0 then redis.call('HINCRBY', KEYS[4], 'rooms', -1) end
      out[#out + 1] = {room, peer, nextseq(KEYS[5]), rest}
    end
  end
end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SET', KEYS[6], '1', 'EX', 3600)
return out
`;

/** KEYS: presence, insts, tombstone. ARGV: ttl ms, instance, value. → 1 | 0 (this instance was reaped: start over) */
export const REFRESH = `
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return 1
`;
