-- Quorum mode: raise the fencing counter to at least ARGV[2] (the largest among the servers
-- that granted the lock), if the lock is still held with token ARGV[1]; ARGV[3] the counter's
-- lifetime in ms. Every quorum then shares a server with the previous one, so fences keep
-- growing from holder to holder (and with the counters gone, each server's clock takes over, as
-- in next_fence: the servers' clocks must then agree to within the time since the last fence).
local held = holding(ARGV[1], redis.pcall('GET', KEYS[1]), '')
if held[1] ~= 1 then
  return 0
end
local stored = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
redis.call('SET', KEYS[3], string.format('%.0f', math.max(stored, tonumber(ARGV[2]))), 'PX', ARGV[3])
local record = KEYS[2]
if held[2] ~= 'x' then
  record = holder_record(ARGV[1])
end
-- (Only a record that is there: a new one would have no expiry.)
if redis.call('EXISTS', record) == 1 then
  redis.call('HSET', record, 'fence', ARGV[2])
end
return 1
