-- The wait queue, shared by every script that changes a lock (this file is prepended to them).
-- KEYS[1] lock record, KEYS[2] holder hash, KEYS[3] fencing counter,
-- KEYS[4] queue (waiter id -> ticket), KEYS[5] alive (waiter id -> deadline in ms, Redis clock).
-- A waiter's wake-up list is KEYS[4] .. ':' .. id, in the same slot as the rest.

-- How long a pending wake-up is kept for a waiter that never comes to take it.
local WAKE_TTL_MS = 60000

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function wake_key(id)
  return KEYS[4] .. ':' .. id
end

-- Forget waiters whose heartbeat lapsed (they crashed or were killed).
local function purge(now)
  local dead = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', '(' .. now)
  for _, id in ipairs(dead) do
    redis.call('ZREM', KEYS[4], id)
    redis.call('ZREM', KEYS[5], id)
    redis.call('DEL', wake_key(id))
  end
end

-- Tell the first waiter the lock is free; only it wakes, and only once.
local function wake_head()
  local head = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
  if head and redis.call('LLEN', wake_key(head)) == 0 then
    redis.call('RPUSH', wake_key(head), '1')
    redis.call('PEXPIRE', wake_key(head), WAKE_TTL_MS)
  end
end

-- Remove one waiter from the queue.
local function leave(id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('ZREM', KEYS[5], id)
  redis.call('DEL', wake_key(id))
end

local function check_lock_type()
  local kind = redis.call('TYPE', KEYS[1]).ok
  if kind ~= 'none' and kind ~= 'string' then
    return redis.error_reply('WRONGTYPE the lock key holds a ' .. kind .. ', not a lock')
  end
  return nil
end
