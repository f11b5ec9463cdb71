-- Force-release the lock whoever holds it (an operator's tool).
-- KEYS[1] lock record, KEYS[2] holder hash
-- Returns 1 when a lock was removed, 0 when it was free.
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'none' then
  return 0
end
if kind ~= 'string' then
  return redis.error_reply('WRONGTYPE the lock key holds a ' .. kind .. ', not a lock')
end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
