-- Release the lock, if it is held with this token, and hand it to the next waiters.
-- ARGV[1] token, ARGV[2] the mode the caller took it in ('' if it does not say), ARGV[3] how the
-- hold ended, for the history ('released', 'stopped': rlock stopped the command because the lock
-- could not be kept, or 'given-back': a grant never used, which is no hold), ARGV[4] the command's
-- exit code and ARGV[5] the signal that killed it ('' when not known), then the history's cap and
-- lifetime in ms, and last the fencing counter's lifetime in ms.
-- Returns {1, mode} when released, {0} when the lock is gone or someone else's (the history says
-- the holder lost it), {-1, mode} when the token holds it in another mode than the caller said.
local token, ending = ARGV[1], ARGV[3]
local held = holding(token, redis.pcall('GET', KEYS[1]), ARGV[2])
if held[1] == 0 and ending ~= 'given-back' then
  remember_lost(token)
end
if held[1] ~= 1 then
  return held
end
local status = {}
if ARGV[4] ~= '' then
  status = {'exit', ARGV[4]}
elseif ARGV[5] ~= '' then
  status = {'signal', ARGV[5]}
end
local now = now_ms()
if held[2] == 'x' then
  remember(ending, token, KEYS[2], 'x', now, status)
  hand_on(now)
else
  remember(ending, token, holder_record(token), held[2], now, status)
  drop_holder(token, now)
  pass_on(now)
end
return held
