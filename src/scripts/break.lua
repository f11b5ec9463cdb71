-- Force-release the lock whoever holds it (an operator's tool), and hand it to the next waiter.
-- Returns 1 when a lock was removed, 0 when it was free.
local bad = check_lock_type()
if bad then return bad end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('DEL', KEYS[1], KEYS[2])
local now = now_ms()
purge(now)
grant_head(now)
return 1
