-- Describe the lock without changing it.
-- KEYS[1] lock record, KEYS[2] holder hash
-- Returns {0} when free, or {1, pttl, holder fields...} when held; the holder fields are empty when
-- the lock was taken by something other than rlock (or the record is not the one rlock wrote).
-- The token never leaves Redis.
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'none' then
  return {0}
end
if kind ~= 'string' then
  return redis.error_reply('WRONGTYPE the lock key holds a ' .. kind .. ', not a lock')
end
local reply = {1, redis.call('PTTL', KEYS[1])}
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
