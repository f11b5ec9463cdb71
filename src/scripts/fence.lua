-- Quorum mode: raise the fencing counter to at least ARGV[2] (the largest among the servers
-- that granted the lock), if the lock is still held with token ARGV[1]. Every majority then shares
-- a server with the previous one, so fences keep growing from holder to holder.
-- KEYS[1] lock record, KEYS[2] holder hash, KEYS[3] fencing counter.
if redis.pcall('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if (tonumber(redis.call('GET', KEYS[3]) or '0') or 0) < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[3], ARGV[2])
end
redis.call('HSET', KEYS[2], 'fence', ARGV[2])
return 1
