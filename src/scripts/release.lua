-- Release the lock, if it is still held with this token, and hand it to the next waiter.
-- ARGV[1] token. Returns 1 when released, 0 when the lock is gone or someone else's.
if redis.call('TYPE', KEYS[1]).ok ~= 'string' or redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
hand_on()
return 1
