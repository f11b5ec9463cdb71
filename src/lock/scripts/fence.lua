-- Quorum mode: raise the fencing counter to at least ARGV[2] (the largest among the servers
-- that granted the lock), if the lock is still held with token ARGV[1]. Every quorum then shares
-- a server with the previous one, so fences keep growing from holder to holder.
local held = holding(ARGV[1], redis.pcall('GET', KEYS[1]), '')
if held[1] ~= 1 then
  return 0
end
if (tonumber(redis.call('GET', KEYS[3]) or '0') or 0) < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[3], ARGV[2])
end
local record = KEYS[2]
if held[2] ~= 'x' then
  record = holder_record(ARGV[1])
end
redis.call('HSET', record, 'fence', ARGV[2])
return 1
