-- Take the lock if it is free (or, shared or limited, has room) and nobody is ahead in the queue;
-- otherwise join the queue (or keep one's place in it: every call is also a heartbeat).
-- ARGV[1] token, ARGV[2] ttl in ms, ARGV[3] waiter id ('' to try once without queueing),
-- ARGV[4] ms a waiter's place lasts without a heartbeat, ARGV[5] ms of a granted lock's first
-- lifetime, ARGV[6] mode ('x', 's' or N), ARGV[7] the waiter's ticket (0 until it has one: it
-- then joins after the last waiter), ARGV[8..#ARGV - 3] holder field/value pairs, then the
-- history's cap and lifetime in ms, and last the fencing counter's lifetime in ms.
-- Returns {1, fence, 0} when taken, {1, fence, 1} when it had been granted to us (its lifetime is
-- then the grant's); {-1, mode} when the lock is in use in a mode this one cannot go with;
-- {0, ms until a holder's lifetime ends, place in the queue (1 = next, 0 = not queued), waiters,
-- host, pid, since_ms (of rlock's first holder), holders, mode held ('' for another tool's),
-- ticket (0 = not queued)} when not taken.
-- The lock record and the fencing counter, read first: a key of another type stops the script
-- before it changes anything.
local value = redis.pcall('GET', KEYS[1])
if type(value) == 'table' then
  return check_lock_type() or value
end
local last_fence = redis.pcall('GET', KEYS[3])
if type(last_fence) == 'table' or (last_fence and not tonumber(last_fence)) then
  return redis.error_reply('WRONGTYPE the fencing counter ' .. KEYS[3] .. ' is not a number')
end
last_fence = tonumber(last_fence or '0')
local token, ttl, id, mode = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[6]
local ticket, lapse = tonumber(ARGV[7]) or 0, tonumber(ARGV[4])
local now, now_us = clock()
-- Waiters whose heartbeat lapsed go first (with nobody waiting, there are none).
local head = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
if head and purge(now) > 0 then
  head = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
end
if purge_holders(now) then
  value = redis.call('GET', KEYS[1])
end
local clash = conflict(mode, value, head)
if clash then
  return {-1, clash}
end

-- Granted to us between two wake-ups: {1, fence, 1}, or nil.
local function granted()
  if id == '' then
    return nil
  end
  local record = nil
  if value == token then
    record = KEYS[2]
  elseif value and kind_of(value) ~= 'x' and shared_by(token, now) then
    record = holder_record(token)
  else
    return nil
  end
  redis.call('DEL', wake_key(id))
  return {1, tonumber(redis.call('HGET', record, 'fence')) or 0, 1}
end

-- What a waiter's record holds, written when it joins.
local function record()
  return {'token', token, 'ttl', ARGV[2], 'grant', ARGV[5], 'mode', mode, unpack(ARGV, 8, #ARGV - 3)}
end

local ours = granted()
if ours then
  return ours
end
if id ~= '' and ticket ~= 0 then
  -- A ticket agreed over a quorum: take that place (back) before looking at who is first.
  join(id, ticket, lapse, now, record())
  head = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
end

if head == nil or head == id then
  if mode == 'x' then
    -- The same SET ... NX PX every Redis lock library uses, so their locks and rlock's exclude
    -- each other.
    if redis.call('SET', KEYS[1], token, 'NX', 'PX', ttl) then
      -- Nothing in this script has changed the counter or read the clock since.
      local fence = next_fence(last_fence, now_us)
      redis.call('DEL', KEYS[2])
      redis.call('HSET', KEYS[2], 'token', token, 'fence', fence, 'since_ms', now, unpack(ARGV, 8, #ARGV - 3))
      redis.call('PEXPIRE', KEYS[2], ttl)
      -- The record just written, for the history, without reading it back.
      local written = {fence = string.format('%.0f', fence), since_ms = string.format('%.0f', now)}
      for i = 8, #ARGV - 4, 2 do
        written[ARGV[i]] = ARGV[i + 1]
      end
      remember('acquired', token, written, mode, now)
      -- (With nobody waiting, we were not in the queue.)
      if id ~= '' and head then
        leave(id)
      end
      return {1, fence, 0}
    end
  elseif fits(mode) then
    local record = holder_record(token)
    redis.call('DEL', record)
    redis.call('HSET', record, 'mode', mode, unpack(ARGV, 8, #ARGV - 3))
    local fence = add_holder(mode, token, ttl, now)
    remember('acquired', token, record, mode, now)
    if id ~= '' then
      leave(id)
    end
    -- Those behind us may fit too (readers after a reader).
    grant_head(now)
    return {1, fence, 0}
  end
elseif kind_of(value) ~= 'x' then
  -- Someone else's turn, and there may be room now (the lock is free, a holder crashed, a lock
  -- held through another tool was freed): hand it to them (and to us, readers behind a reader).
  grant_head(now)
  value = redis.call('GET', KEYS[1])
  ours = granted()
  if ours then
    return ours
  end
end

local place = 0
if id ~= '' then
  ticket = join(id, ticket, lapse, now, record())
  place = redis.call('ZRANK', KEYS[4], id) + 1
end

value = redis.call('GET', KEYS[1])
local kind = kind_of(value)
local pttl, holders, host, pid, since = redis.call('PTTL', KEYS[1]), 0, false, false, false
local first = nil
if kind == 'x' then
  if redis.call('HGET', KEYS[2], 'token') == value then
    first, holders = KEYS[2], 1
  else
    kind = ''
  end
elseif kind then
  -- A place frees up when the first holder's lifetime ends.
  local soonest = redis.call('ZRANGE', KEYS[6], 0, 0, 'WITHSCORES')
  if soonest[2] then
    pttl = math.max(tonumber(soonest[2]) - now, 0)
    first = holder_record(soonest[1])
  end
  holders = redis.call('ZCARD', KEYS[6])
else
  kind = ''
end
if first then
  local fields = redis.call('HMGET', first, 'host', 'pid', 'since_ms')
  host, pid, since = fields[1], fields[2], fields[3]
end
return {0, pttl, place, redis.call('ZCARD', KEYS[4]), host or '', pid or '', since or '', holders, kind,
  place > 0 and ticket or 0}
