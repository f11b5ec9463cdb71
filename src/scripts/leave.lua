-- A waiter gives up (timeout, Ctrl-C): leave the queue and, if the lock is free, pass the turn on.
-- If the lock was granted to it as it gave up, it is released first.
-- ARGV[1] waiter id, ARGV[2] its token. Returns 1.
local bad = check_lock_type()
if bad then return bad end
leave(ARGV[1])
if redis.call('GET', KEYS[1]) == ARGV[2] or redis.call('EXISTS', KEYS[1]) == 0 then
  hand_on()
end
return 1
