-- A waiter gives up (timeout, Ctrl-C): leave the queue and pass the turn on to whoever fits now.
-- If the lock was granted to it as it gave up, it is released first.
-- ARGV[1] waiter id, ARGV[2] its token, ARGV[3] the fencing counter's lifetime in ms. Returns 1.
local bad = check_lock_type()
if bad then return bad end
leave(ARGV[1])
if redis.call('GET', KEYS[1]) == ARGV[2] then
  hand_on()
else
  local now = now_ms()
  drop_holder(ARGV[2], now)
  pass_on(now)
end
return 1
