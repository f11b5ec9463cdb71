-- Locks with several holders (--shared, --limit N), and fences, shared by every script
-- (prepended to them). KEYS[1] lock record, KEYS[2] holder hash, KEYS[3] fencing counter, KEYS[6]
-- holders (token -> the end of its lifetime in ms, Redis clock). Per holder, in the same slot: its
-- record KEYS[6]:token (host, pid, user, program, fence, since_ms). Every script that can hand
-- out a fence (acquire, release, break, leave, fence) takes the fencing counter's lifetime in ms
-- as its last argument. KEYS[7] is the lock's history (see history.lua).
--
-- Modes, as the scripts take and return them: 'x' exclusive (KEYS[1] holds the holder's token,
-- as every Redis lock library does it), 's' shared, or a number N >= 2 (at most N holders).
-- While a lock has shared or limited holders, KEYS[1] holds a marker naming the mode and lives as
-- long as the longest-lived of them, so other tools see it held and an exclusive SET NX fails;
-- KEYS[2] then holds the same marker as its token, and the mode.

local SHARED = 'rlock-shared'

-- Redis's clock in milliseconds and in microseconds (as next_fence reads it), from one reading.
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function now_ms()
  return (clock())
end

-- The next fence: max(the last one + 1, Redis's clock in microseconds). The counter keeps the
-- last one for the fencing counter's lifetime (renewed with every fence), so that it too goes
-- once the lock has been idle that long. While it lives, fences grow through it; once it is gone
-- (expired, or lost in a restart without persistence), through the clock. A fence is never more
-- than the clock when it was given plus the fences handed out within that same microsecond, so
-- a later reading of the clock is larger as long as Redis's clock was not set back by more than
-- the time since the last fence (at least the counter's lifetime, once the counter expired).
-- Exact in Lua's numbers below 2^53 (about 9e15 microseconds, the year 2255; 1.8e15 in 2026).
-- A caller that has just read the counter (`last`, 0 when missing) and the clock (`now_us`) in
-- this script, and changed neither since, passes them, saving the two calls.
local function next_fence(last, now_us)
  if not now_us then
    now_us = select(2, clock())
  end
  if not last then
    last = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
  end
  local fence = math.max(last + 1, now_us)
  redis.call('SET', KEYS[3], string.format('%.0f', fence), 'PX', ARGV[#ARGV])
  return fence
end

local function marker(mode)
  if mode == 's' then
    return SHARED
  end
  return 'rlock-limit-' .. mode
end

-- The mode a value of KEYS[1] stands for: nil when free, 'x' for a token (rlock's or another tool's).
local function kind_of(value)
  if not value then
    return nil
  end
  if value == SHARED then
    return 's'
  end
  return string.match(value, '^rlock%-limit%-(%d+)$') or 'x'
end

-- Exclusive and shared locks go together (one writer or many readers); a limit only with itself.
local function family(mode)
  if mode == 'x' or mode == 's' then
    return '1'
  end
  return mode
end

local function holder_record(token)
  return KEYS[6] .. ':' .. token
end

-- Forget every shared or limited holder and what was kept for them.
local function clear_holders()
  for _, token in ipairs(redis.call('ZRANGE', KEYS[6], 0, -1)) do
    redis.call('DEL', holder_record(token))
  end
  redis.call('DEL', KEYS[6])
end

-- After a holder went: the marker lives as long as the longest-lived holder left, and goes with
-- the last one.
local function settle(now)
  local last = redis.call('ZRANGE', KEYS[6], -1, -1, 'WITHSCORES')
  if not last[2] then
    redis.call('DEL', KEYS[1], KEYS[2])
    return
  end
  local left = math.max(tonumber(last[2]) - now, 1)
  redis.call('PEXPIRE', KEYS[1], left)
  redis.call('PEXPIRE', KEYS[2], left)
  redis.call('PEXPIRE', KEYS[6], left)
end

-- Forget holders whose lifetime ran out (they crashed or were killed), and holders left over from
-- a lock that is gone or exclusive now. True when there were holders (the lock record may have
-- changed).
local function purge_holders(now)
  if redis.call('EXISTS', KEYS[6]) == 0 then
    return false
  end
  local kind = kind_of(redis.call('GET', KEYS[1]))
  if kind == nil or kind == 'x' then
    clear_holders()
    return true
  end
  local gone = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', '(' .. now)
  for _, token in ipairs(gone) do
    redis.call('ZREM', KEYS[6], token)
    redis.call('DEL', holder_record(token))
  end
  if #gone > 0 then
    settle(now)
  end
  return true
end

-- The mode `token` holds a shared or limited lock in, or nil.
local function shared_by(token, now)
  local kind = kind_of(redis.call('GET', KEYS[1]))
  if kind == nil or kind == 'x' then
    return nil
  end
  local until_ms = redis.call('ZSCORE', KEYS[6], token)
  if until_ms and tonumber(until_ms) >= now then
    return kind
  end
  return nil
end

-- How `token` holds the lock, whose record read `value` (a pcall's answer: a key of another type
-- is simply not ours): {1, mode} when it holds it (in mode `want`, unless that is ''), {-1, mode}
-- when it holds it in another mode than `want`, {0} when it does not hold it.
local function holding(token, value, want)
  if type(value) ~= 'string' then
    return {0}
  end
  local kind = 'x'
  if value ~= token then
    kind = shared_by(token, now_ms())
    if not kind then
      return {0}
    end
  end
  if want ~= '' and want ~= kind then
    return {-1, kind}
  end
  return {1, kind}
end

-- Whether one more holder of `mode` may take the lock now (the queue is the caller's business).
local function fits(mode)
  local kind = kind_of(redis.call('GET', KEYS[1]))
  if kind == nil then
    return true
  end
  if mode == 'x' or kind ~= mode then
    return false
  end
  if mode == 's' then
    return true
  end
  return redis.call('ZCARD', KEYS[6]) < tonumber(mode)
end

-- Make `token` a holder in `mode` (shared or limited; the caller checked that it fits) for `life`
-- ms, its record already written; returns its fence.
local function add_holder(mode, token, life, now)
  if redis.call('EXISTS', KEYS[1]) == 0 then
    clear_holders()
    redis.call('DEL', KEYS[2])
  end
  local fence = next_fence()
  redis.call('ZADD', KEYS[6], now + life, token)
  local record = holder_record(token)
  redis.call('HSET', record, 'fence', fence, 'since_ms', now)
  redis.call('PEXPIRE', record, life)
  local left = redis.call('PTTL', KEYS[1])
  if left < life then
    redis.call('SET', KEYS[1], marker(mode), 'PX', life)
    redis.call('HSET', KEYS[2], 'token', marker(mode), 'mode', mode)
    redis.call('PEXPIRE', KEYS[2], life)
    redis.call('PEXPIRE', KEYS[6], life)
  elseif redis.call('PTTL', KEYS[6]) < 0 then
    -- The holders were deleted while the marker lives (by hand, say): they expire with it.
    redis.call('PEXPIRE', KEYS[6], left)
  end
  return fence
end

-- Extend a shared or limited holder to `life` ms from now (the caller checked that it holds).
local function extend_holder(token, life, now)
  redis.call('ZADD', KEYS[6], 'XX', now + life, token)
  redis.call('PEXPIRE', holder_record(token), life)
  if redis.call('PTTL', KEYS[1]) < life then
    redis.call('PEXPIRE', KEYS[1], life)
    redis.call('PEXPIRE', KEYS[2], life)
    redis.call('PEXPIRE', KEYS[6], life)
  end
end

-- Remove a shared or limited holder; false when it held nothing.
local function drop_holder(token, now)
  if not shared_by(token, now) then
    return false
  end
  redis.call('ZREM', KEYS[6], token)
  redis.call('DEL', holder_record(token))
  settle(now)
  return true
end
