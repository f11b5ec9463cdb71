-- Take the lock if it is free and nobody is ahead in the queue; otherwise join the queue (or keep
-- one's place in it: every call is also a heartbeat).
-- ARGV[1] token, ARGV[2] ttl in ms, ARGV[3] waiter id ('' to try once without queueing),
-- ARGV[4] ms a waiter's place lasts without a heartbeat, ARGV[5] ms of a granted lock's first
-- lifetime, ARGV[6..] holder field/value pairs.
-- Returns {1, fence, 0} when taken, {1, fence, 1} when it had been granted to us (its lifetime is
-- then the grant's); {0, pttl of the holder, place in the queue (1 = next, 0 = not queued),
-- waiters, host, pid, since_ms} when not.
local bad = check_lock_type()
if bad then return bad end
local fence_kind = redis.call('TYPE', KEYS[3]).ok
if fence_kind ~= 'none' and (fence_kind ~= 'string' or not tonumber(redis.call('GET', KEYS[3]))) then
  return redis.error_reply('WRONGTYPE the fencing counter ' .. KEYS[3] .. ' is not a number')
end
local token, id = ARGV[1], ARGV[3]
local now = now_ms()
purge(now)

if id ~= '' and redis.call('GET', KEYS[1]) == token then
  -- Granted to us between two wake-ups.
  redis.call('DEL', wake_key(id))
  return {1, tonumber(redis.call('HGET', KEYS[2], 'fence')) or 0, 1}
end

local head = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
if head == nil or head == id then
  -- The same SET ... NX PX every Redis lock library uses, so their locks and rlock's exclude each other.
  if redis.call('SET', KEYS[1], token, 'NX', 'PX', ARGV[2]) then
    local fence = redis.call('INCR', KEYS[3])
    redis.call('DEL', KEYS[2])
    redis.call('HSET', KEYS[2], 'token', token, 'fence', fence, 'since_ms', now, unpack(ARGV, 6))
    redis.call('PEXPIRE', KEYS[2], ARGV[2])
    if id ~= '' then
      leave(id)
    end
    return {1, fence, 0}
  end
elseif redis.call('EXISTS', KEYS[1]) == 0 then
  -- Free, but someone else's turn (their holder may have crashed): hand it to them.
  grant_head(now)
end

local place = 0
if id ~= '' then
  local lapse = tonumber(ARGV[4])
  if not redis.call('ZSCORE', KEYS[4], id) then
    local last = redis.call('ZRANGE', KEYS[4], -1, -1, 'WITHSCORES')
    local ticket = last[2] and (tonumber(last[2]) + 1) or 1
    redis.call('ZADD', KEYS[4], ticket, id)
    redis.call('HSET', record_key(id), 'token', token, 'ttl', ARGV[2], 'grant', ARGV[5], unpack(ARGV, 6))
  end
  redis.call('ZADD', KEYS[5], now + lapse, id)
  -- All of it vanishes by itself once every waiter is gone.
  redis.call('PEXPIRE', KEYS[4], 2 * lapse)
  redis.call('PEXPIRE', KEYS[5], 2 * lapse)
  redis.call('PEXPIRE', record_key(id), 2 * lapse)
  place = redis.call('ZRANK', KEYS[4], id) + 1
end

local host, pid, since = false, false, false
if redis.call('HGET', KEYS[2], 'token') == redis.call('GET', KEYS[1]) then
  local fields = redis.call('HMGET', KEYS[2], 'host', 'pid', 'since_ms')
  host, pid, since = fields[1], fields[2], fields[3]
end
return {0, redis.call('PTTL', KEYS[1]), place, redis.call('ZCARD', KEYS[4]), host or '', pid or '', since or ''}
