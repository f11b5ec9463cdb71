-- The wait queue, shared by every script that changes a lock (prepended to them, after
-- holders.lua). KEYS[1] lock record, KEYS[2] holder hash, KEYS[3] fencing counter,
-- KEYS[4] queue (waiter id -> ticket), KEYS[5] alive (waiter id -> deadline in ms, Redis clock).
-- Per waiter, in the same slot: its wake-up list KEYS[4]:id and its record KEYS[4]:id:holder
-- (token, ttl, grant, mode, since_ms when it joined, and the holder fields it will have once it
-- holds the lock).

-- How long a pending wake-up is kept for a waiter that never comes to take it.
local WAKE_TTL_MS = 60000

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

-- Put waiter `id` in the queue with `ticket` (0: after the last waiter there), or move it to
-- `ticket` when it waits there with another one, and renew its place for `lapse` ms from `now`.
-- `record` is what its record holds (token, ttl, grant, mode and its holder fields), written when
-- it joins. Returns its ticket. A waiter over a quorum passes the ticket all the servers agreed
-- on, so that each of them orders it the same way, and a server that forgot it (restarted empty,
-- say) takes it back in the same place.
local function join(id, ticket, lapse, now, record)
  local score = tonumber(redis.call('ZSCORE', KEYS[4], id))
  if not score then
    if ticket == 0 then
      local last = redis.call('ZRANGE', KEYS[4], -1, -1, 'WITHSCORES')
      ticket = last[2] and (tonumber(last[2]) + 1) or 1
    end
    redis.call('ZADD', KEYS[4], ticket, id)
    redis.call('DEL', record_key(id))
    redis.call('HSET', record_key(id), unpack(record))
    -- When it joined (status shows how long it has waited); a grant makes it when it took the lock.
    redis.call('HSET', record_key(id), 'since_ms', now)
    score = ticket
  elseif ticket ~= 0 and score ~= ticket then
    redis.call('ZADD', KEYS[4], ticket, id)
    score = ticket
  end
  redis.call('ZADD', KEYS[5], now + lapse, id)
  -- All of it vanishes by itself once every waiter is gone.
  redis.call('PEXPIRE', KEYS[4], 2 * lapse)
  redis.call('PEXPIRE', KEYS[5], 2 * lapse)
  redis.call('PEXPIRE', record_key(id), 2 * lapse)
  return score
end

-- Forget waiters whose heartbeat lapsed (they crashed or were killed); returns how many.
local function purge(now)
  local gone = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', '(' .. now)
  for _, id in ipairs(gone) do
    leave(id)
  end
  return #gone
end

-- Hand the lock straight to the waiters at the head of the queue, as many as fit: one exclusive
-- waiter, a run of shared ones, or limited ones up to the limit. A waiter's token is in its
-- record, so the lock is its own before it even wakes, and the wake-up carries the fence. The first
-- lifetime is short (the waiter's 'grant'), so a waiter that died a moment ago holds nobody up for
-- long; a live one extends it as soon as it wakes.
local function grant_head(now)
  local head = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
  if not head or not tonumber(redis.call('GET', KEYS[3]) or '0') then
    return
  end
  while head do
    local record = record_key(head)
    local found = redis.call('HMGET', record, 'token', 'grant', 'mode')
    if found[1] and found[2] then
      local token, life, mode = found[1], tonumber(found[2]), found[3] or 'x'
      if not fits(mode) then
        return
      end
      local fence
      if mode == 'x' then
        redis.call('SET', KEYS[1], token, 'PX', life)
        fence = next_fence()
        -- The waiter's record becomes the holder record (RENAME replaces any stale one).
        redis.call('RENAME', record, KEYS[2])
        redis.call('HSET', KEYS[2], 'fence', fence, 'since_ms', now)
        redis.call('PEXPIRE', KEYS[2], life)
        remember('acquired', token, KEYS[2], mode, now)
      else
        redis.call('RENAME', record, holder_record(token))
        fence = add_holder(mode, token, life, now)
        remember('acquired', token, holder_record(token), mode, now)
      end
      leave(head)
      redis.call('RPUSH', wake_key(head), fence)
      redis.call('PEXPIRE', wake_key(head), WAKE_TTL_MS)
      if mode == 'x' then
        return
      end
    else
      -- A place without a record cannot be granted: drop it and look at the next.
      leave(head)
    end
    head = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
  end
end

-- Give whatever is free now to the next live waiters (with nobody waiting, only the holders'
-- lapsed places need forgetting).
local function pass_on(now)
  local waiting = redis.call('EXISTS', KEYS[4]) == 1
  if waiting then
    purge(now)
  end
  purge_holders(now)
  if waiting then
    grant_head(now)
  end
end

-- The lock is free (or freed here): give it to the next live waiters. `now` is the caller's
-- reading of the clock, if it has one.
local function hand_on(now)
  redis.call('DEL', KEYS[1], KEYS[2])
  -- With the lock record gone, this also forgets any shared or limited holders.
  pass_on(now or now_ms())
end

-- The mode this lock is in use with (held, or waited for), when `mode` cannot go with it: a
-- limit with anything but the same limit. Nil when they go together. `value` is the lock
-- record's, `head` the first waiter.
local function conflict(mode, value, head)
  local kind = kind_of(value)
  -- Another tool's token says nothing about modes; rlock's own exclusive lock does.
  if kind == 'x' and family(mode) ~= '1' and redis.call('HGET', KEYS[2], 'token') ~= value then
    kind = nil
  end
  if kind then
    -- Whoever waits joined while the lock was held this way, or waits behind someone who did.
    if family(kind) ~= family(mode) then
      return kind
    end
    return nil
  end
  if head then
    -- (A record gone or written without a mode says nothing.)
    local other = redis.call('HGET', record_key(head), 'mode')
    if other and family(other) ~= family(mode) then
      return other
    end
  end
  return nil
end

local function check_lock_type()
  local kind = redis.call('TYPE', KEYS[1]).ok
  if kind ~= 'none' and kind ~= 'string' then
    return redis.error_reply('WRONGTYPE the lock key holds a ' .. kind .. ', not a lock')
  end
  return nil
end
