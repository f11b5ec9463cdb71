-- Release the lock, if it is held with this token, and hand it to the next waiters.
-- ARGV[1] token, ARGV[2] the mode the caller took it in ('' if it does not say), ARGV[3] the
-- fencing counter's lifetime in ms.
-- Returns {1, mode} when released, {0} when the lock is gone or someone else's, {-1, mode} when
-- the token holds it in another mode than the caller said.
local token = ARGV[1]
local held = holding(token, redis.pcall('GET', KEYS[1]), ARGV[2])
if held[1] ~= 1 then
  return held
end
if held[2] == 'x' then
  hand_on()
else
  local now = now_ms()
  drop_holder(token, now)
  pass_on(now)
end
return held
