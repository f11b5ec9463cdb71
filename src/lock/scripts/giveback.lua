-- Quorum mode: a waiter that only a minority of the servers granted the lock to gives it back
-- here and takes its place in this server's queue again, with the ticket every server has for
-- it, so that the lock goes to whoever is first here now (the waiter itself again when nobody is
-- ahead of it). A majority that cannot be formed (servers that disagreed for a moment on who was
-- first, one that missed a waiter or came back empty) is undone this way, and never waited out.
-- ARGV as acquire.lua's. The history says the grant was given back, so that it is not taken
-- for a hold. Returns the fence of the grant given back, or 0 when the waiter held
-- nothing here (the grant lapsed, or never came).
local bad = check_lock_type()
if bad then return bad end
local token, id, mode, ticket = ARGV[1], ARGV[3], ARGV[6], tonumber(ARGV[7]) or 0
local now = now_ms()
local fence
if redis.call('GET', KEYS[1]) == token then
  fence = redis.call('HGET', KEYS[2], 'fence')
  remember('given-back', token, KEYS[2], 'x', now)
  redis.call('DEL', KEYS[1], KEYS[2])
elseif shared_by(token, now) then
  fence = redis.call('HGET', holder_record(token), 'fence')
  remember('given-back', token, holder_record(token), mode, now)
  drop_holder(token, now)
else
  return 0
end
redis.call('DEL', wake_key(id))
join(id, ticket, tonumber(ARGV[4]), now,
  {'token', token, 'ttl', ARGV[2], 'grant', ARGV[5], 'mode', mode, unpack(ARGV, 8, #ARGV - 3)})
pass_on(now)
return tonumber(fence) or 0
