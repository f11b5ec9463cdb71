-- Take the lock if it is free, count the acquisition, and record who holds it.
-- KEYS[1] lock record, KEYS[2] holder hash, KEYS[3] fencing counter
-- ARGV[1] token, ARGV[2] ttl in ms, ARGV[3..] holder field/value pairs
-- Returns {1, fence} when taken, {0, pttl of the current holder} when held.
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'none' and kind ~= 'string' then
  return redis.error_reply('WRONGTYPE the lock key holds a ' .. kind .. ', not a lock')
end
local fence_kind = redis.call('TYPE', KEYS[3]).ok
if fence_kind ~= 'none' and (fence_kind ~= 'string' or not tonumber(redis.call('GET', KEYS[3]))) then
  return redis.error_reply('WRONGTYPE the fencing counter ' .. KEYS[3] .. ' is not a number')
end
-- The same SET ... NX PX every Redis lock library uses, so their locks and rlock's exclude each other.
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0, redis.call('PTTL', KEYS[1])}
end
local fence = redis.call('INCR', KEYS[3])
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'token', ARGV[1], 'fence', fence, unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return {1, fence}
