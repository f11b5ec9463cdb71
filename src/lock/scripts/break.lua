-- Force-release the lock whoever holds it (every holder of a shared or limited one), and hand
-- it to the next waiters; the history says each of rlock's holders was broken. ARGV: the
-- history's cap and lifetime in ms, and last the fencing counter's lifetime in ms. Returns 1
-- when a lock was removed, 0 when it was free.
local bad = check_lock_type()
if bad then return bad end
local value = redis.call('GET', KEYS[1])
if not value then
  return 0
end
local now = now_ms()
local kind = kind_of(value)
if kind == 'x' then
  if redis.call('HGET', KEYS[2], 'token') == value then
    remember('broken', value, KEYS[2], 'x', now)
  end
else
  for _, token in ipairs(redis.call('ZRANGEBYSCORE', KEYS[6], now, '+inf')) do
    remember('broken', token, holder_record(token), kind, now)
  end
end
hand_on()
return 1
