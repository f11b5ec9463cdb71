-- Describe the lock without changing it.
-- Returns {held (0/1), pttl, live waiters, mode held ('x', 's', N; '' when free), holders, queue},
-- each holder {its pttl, 'id', digest of its token, field, value, ...}: the one exclusive holder,
-- or every live shared or limited one. There are none when the lock is free, was taken by
-- something other than rlock, or its record is not the one rlock wrote. The queue: the live
-- waiters in the order they will be served, each {waiter id, ticket, field, value, ...} from its
-- record (mode, since_ms when it joined, and its holder fields). Tokens never leave Redis.
local bad = check_lock_type()
if bad then return bad end
local now = now_ms()

-- The waiters whose heartbeat is still due and whose record is there (a place without one is
-- dropped, never served), in queue order: by ticket, then id.
local queue = {}
local placed = redis.call('ZRANGE', KEYS[4], 0, -1, 'WITHSCORES')
for i = 1, #placed, 2 do
  local id = placed[i]
  local deadline = redis.call('ZSCORE', KEYS[5], id)
  if deadline and tonumber(deadline) >= now then
    local fields = redis.call('HGETALL', record_key(id))
    if #fields > 0 then
      local entry = {id, tonumber(placed[i + 1])}
      for j = 1, #fields, 2 do
        if fields[j] ~= 'token' then
          entry[#entry + 1] = fields[j]
          entry[#entry + 1] = fields[j + 1]
        end
      end
      queue[#queue + 1] = entry
    end
  end
end
local waiters = #queue

local value = redis.call('GET', KEYS[1])
if not value then
  return {0, -2, waiters, '', {}, queue}
end

-- A holder: its pttl, a digest of its token that is the same on every server (so quorum mode
-- can tell holders apart), and its fields.
local function described(key, token, pttl)
  local entry = {pttl, 'id', string.sub(redis.sha1hex(token), 1, 16)}
  local fields = redis.call('HGETALL', key)
  for i = 1, #fields, 2 do
    if fields[i] ~= 'token' then
      entry[#entry + 1] = fields[i]
      entry[#entry + 1] = fields[i + 1]
    end
  end
  return entry
end

local kind = kind_of(value)
local holders = {}
if kind == 'x' then
  if redis.call('HGET', KEYS[2], 'token') == value then
    holders[1] = described(KEYS[2], value, redis.call('PTTL', KEYS[1]))
  end
else
  local live = redis.call('ZRANGEBYSCORE', KEYS[6], now, '+inf', 'WITHSCORES')
  for i = 1, #live, 2 do
    holders[#holders + 1] = described(holder_record(live[i]), live[i], tonumber(live[i + 1]) - now)
  end
end
return {1, redis.call('PTTL', KEYS[1]), waiters, kind, holders, queue}
