-- Release the lock, if it is still held with this token, and hand it to the next waiter.
-- ARGV[1] token. Returns 1 when released, 0 when the lock is gone or someone else's.
-- pcall: a key of another type is simply not ours.
if redis.pcall('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
hand_on()
return 1
