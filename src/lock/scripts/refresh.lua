-- Extend the lock, if it is still held with this token.
-- ARGV[1] token, ARGV[2] ttl in ms, ARGV[3] the mode the caller took it in ('' if it does not say),
-- then the history's cap and lifetime in ms, and last the fencing counter's lifetime (unused).
-- Returns {1, mode} when extended, {0} when the lock is gone or someone else's (the history says
-- the holder lost it), {-1, mode} when the token holds it in another mode than the caller said.
local token, ttl = ARGV[1], tonumber(ARGV[2])
local held = holding(token, redis.pcall('GET', KEYS[1]), ARGV[3])
if held[1] == 0 then
  remember_lost(token)
end
if held[1] ~= 1 then
  return held
end
if held[2] == 'x' then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
else
  extend_holder(token, ttl, now_ms())
end
return held
