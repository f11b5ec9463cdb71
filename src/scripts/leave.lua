-- A waiter gives up (timeout, Ctrl-C): leave the queue and, if the lock is free, pass the turn on.
-- ARGV[1] waiter id. Returns 1.
leave(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then
  purge(now_ms())
  wake_head()
end
return 1
