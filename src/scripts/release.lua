-- Release the lock, if it is held with this token, and hand it to the next waiters.
-- ARGV[1] token, ARGV[2] the mode the caller took it in ('' if it does not say).
-- Returns {1, mode} when released, {0} when the lock is gone or someone else's, {-1, mode} when
-- the token holds it in another mode than the caller said.
-- pcall: a key of another type is simply not ours.
local value = redis.pcall('GET', KEYS[1])
if type(value) ~= 'string' then
  return {0}
end
local token, want = ARGV[1], ARGV[2]
if value == token then
  if want ~= '' and want ~= 'x' then
    return {-1, 'x'}
  end
  hand_on()
  return {1, 'x'}
end
local now = now_ms()
local kind = shared_by(token, now)
if not kind then
  return {0}
end
if want ~= '' and want ~= kind then
  return {-1, kind}
end
drop_holder(token, now)
pass_on(now)
return {1, kind}
