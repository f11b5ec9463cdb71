-- A waiter gives up (timeout, Ctrl-C): leave the queue and pass the turn on to whoever fits now.
-- If the lock was granted to it as it gave up, it is released first (the history says it was
-- given back: it was never used).
-- ARGV[1] waiter id, ARGV[2] its token, then the history's cap and lifetime in ms, and last the
-- fencing counter's lifetime in ms. Returns 1.
local bad = check_lock_type()
if bad then return bad end
leave(ARGV[1])
local token = ARGV[2]
local now = now_ms()
if redis.call('GET', KEYS[1]) == token then
  remember('given-back', token, KEYS[2], 'x', now)
  hand_on()
else
  local kind = shared_by(token, now)
  if kind then
    remember('given-back', token, holder_record(token), kind, now)
  end
  drop_holder(token, now)
  pass_on(now)
end
return 1
