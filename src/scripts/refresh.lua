-- Extend the lock, if it is still held with this token.
-- KEYS[1] lock record, KEYS[2] holder hash; ARGV[1] token, ARGV[2] ttl in ms
-- Returns 1 when extended, 0 when the lock is gone or someone else's.
-- pcall: a key of another type is simply not ours.
if redis.pcall('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
