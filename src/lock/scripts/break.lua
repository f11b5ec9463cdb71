-- Force-release the lock whoever holds it (every holder of a shared or limited one), and hand
-- it to the next waiters. ARGV[1] the fencing counter's lifetime in ms. Returns 1 when a lock was
-- removed, 0 when it was free.
local bad = check_lock_type()
if bad then return bad end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
hand_on()
return 1
