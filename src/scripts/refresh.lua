-- Extend the lock, if it is still held with this token.
-- ARGV[1] token, ARGV[2] ttl in ms, ARGV[3] the mode the caller took it in ('' if it does not say).
-- Returns {1, mode} when extended, {0} when the lock is gone or someone else's, {-1, mode} when
-- the token holds it in another mode than the caller said.
-- pcall: a key of another type is simply not ours.
local value = redis.pcall('GET', KEYS[1])
if type(value) ~= 'string' then
  return {0}
end
local token, ttl, want = ARGV[1], tonumber(ARGV[2]), ARGV[3]
if value == token then
  if want ~= '' and want ~= 'x' then
    return {-1, 'x'}
  end
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
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
extend_holder(token, ttl, now)
return {1, kind}
