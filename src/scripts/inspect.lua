-- Describe the lock without changing it.
-- Returns {held (0/1), pttl, live waiters, holder fields...}; the holder fields are empty when the
-- lock is free, was taken by something other than rlock, or the record is not the one rlock wrote.
-- The token never leaves Redis.
local bad = check_lock_type()
if bad then return bad end
local waiters = redis.call('ZCOUNT', KEYS[5], now_ms(), '+inf')
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {0, -2, waiters}
end
local reply = {1, redis.call('PTTL', KEYS[1]), waiters}
if redis.call('HGET', KEYS[2], 'token') == redis.call('GET', KEYS[1]) then
  local fields = redis.call('HGETALL', KEYS[2])
  for i = 1, #fields, 2 do
    if fields[i] ~= 'token' then
      reply[#reply + 1] = fields[i]
      reply[#reply + 1] = fields[i + 1]
    end
  end
end
return reply
