-- Quorum mode: raise the fencing counter to at least ARGV[2] (the largest among the servers
-- that granted the lock), if the lock is still held with token ARGV[1]. Every quorum then shares
-- a server with the previous one, so fences keep growing from holder to holder.
local value = redis.pcall('GET', KEYS[1])
if type(value) ~= 'string' then
  return 0
end
local record = KEYS[2]
if value ~= ARGV[1] then
  if not shared_by(ARGV[1], now_ms()) then
    return 0
  end
  record = holder_record(ARGV[1])
end
if (tonumber(redis.call('GET', KEYS[3]) or '0') or 0) < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[3], ARGV[2])
end
redis.call('HSET', record, 'fence', ARGV[2])
return 1
