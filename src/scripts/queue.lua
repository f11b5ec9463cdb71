-- The wait queue, shared by every script that changes a lock (this file is prepended to them).
-- KEYS[1] lock record, KEYS[2] holder hash, KEYS[3] fencing counter,
-- KEYS[4] queue (waiter id -> ticket), KEYS[5] alive (waiter id -> deadline in ms, Redis clock).
-- Per waiter, in the same slot: its wake-up list KEYS[4]:id and its record KEYS[4]:id:holder
-- (token, ttl, grant and the holder fields it will have once it holds the lock).

-- How long a pending wake-up is kept for a waiter that never comes to take it.
local WAKE_TTL_MS = 60000

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function wake_key(id)
  return KEYS[4] .. ':' .. id
end

local function record_key(id)
  return KEYS[4] .. ':' .. id .. ':holder'
end

-- Remove one waiter from the queue, with everything kept for it.
local function leave(id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('ZREM', KEYS[5], id)
  redis.call('DEL', wake_key(id), record_key(id))
end

-- Forget waiters whose heartbeat lapsed (they crashed or were killed).
local function purge(now)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', '(' .. now)) do
    leave(id)
  end
end

-- Hand the free lock straight to the first waiter: its token is in its record, so the lock is its
-- own before it even wakes, and the wake-up carries the fence. The first lifetime is short (the
-- waiter's 'grant'), so a waiter that died a moment ago holds nobody up for long; a live one
-- extends it as soon as it wakes.
local function grant_head(now)
  if not tonumber(redis.call('GET', KEYS[3]) or '0') then
    return
  end
  local head = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
  while head do
    local record = record_key(head)
    local found = redis.call('HMGET', record, 'token', 'grant')
    if found[1] and found[2] then
      redis.call('SET', KEYS[1], found[1], 'PX', found[2])
      local fence = redis.call('INCR', KEYS[3])
      -- The waiter's record becomes the holder record (RENAME replaces any stale one).
      redis.call('RENAME', record, KEYS[2])
      redis.call('HSET', KEYS[2], 'fence', fence, 'since_ms', now)
      redis.call('PEXPIRE', KEYS[2], found[2])
      leave(head)
      redis.call('RPUSH', wake_key(head), fence)
      redis.call('PEXPIRE', wake_key(head), WAKE_TTL_MS)
      return
    end
    -- A place without a record cannot be granted: drop it and look at the next.
    leave(head)
    head = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
  end
end

-- The lock is free (or freed here): give it to the next live waiter.
local function hand_on()
  redis.call('DEL', KEYS[1], KEYS[2])
  local now = now_ms()
  purge(now)
  grant_head(now)
end

local function check_lock_type()
  local kind = redis.call('TYPE', KEYS[1]).ok
  if kind ~= 'none' and kind ~= 'string' then
    return redis.error_reply('WRONGTYPE the lock key holds a ' .. kind .. ', not a lock')
  end
  return nil
end
