-- The lock's history (KEYS[7], a stream): an entry each time a hold begins on this server and
-- each time one ends as rlock sees it (released, stopped, lost, broken), written by the same
-- script that changes the lock. It is capped (XADD MAXLEN ~) and expires (PEXPIRE with every
-- entry), so a lock nobody uses leaves nothing behind for long. Every script that writes it
-- takes the cap and the lifetime in ms as its last arguments but one (ARGV[#ARGV - 2] and
-- ARGV[#ARGV - 1]; the fencing counter's lifetime is last). Tokens never go in: a holder is
-- named by the digest inspect.lua shows (the first 16 hex digits of its token's SHA1).

-- The holder fields an entry copies from the holder's record.
local LOGGED = {'host', 'pid', 'user', 'program', 'label', 'fence', 'since_ms'}

local function holder_id(token)
  return string.sub(redis.sha1hex(token), 1, 16)
end

-- Add an entry: `event` happened to the holder with `token` at `now`, in mode `mode` ('' when
-- not known), whose record is the hash `record` (nil when it is gone); `extra` field/value
-- pairs go with it. An end says how long the hold lasted (held_ms) when its record says when it
-- began. Best effort: a key of another type at KEYS[7] loses the entry, never the change.
local function remember(event, token, record, mode, now, extra)
  local entry = {'event', event, 'at', now, 'id', holder_id(token)}
  if mode ~= '' then
    entry[#entry + 1] = 'mode'
    entry[#entry + 1] = mode
  end
  if record then
    local values = redis.call('HMGET', record, unpack(LOGGED))
    for i = 1, #LOGGED do
      if values[i] then
        entry[#entry + 1] = LOGGED[i]
        entry[#entry + 1] = values[i]
      end
    end
    local since = tonumber(values[#LOGGED])
    if event ~= 'acquired' and since then
      entry[#entry + 1] = 'held_ms'
      entry[#entry + 1] = math.max(now - since, 0)
    end
  end
  for _, value in ipairs(extra or {}) do
    entry[#entry + 1] = value
  end
  redis.pcall('XADD', KEYS[7], 'MAXLEN', '~', ARGV[#ARGV - 2], '*', unpack(entry))
  redis.pcall('PEXPIRE', KEYS[7], ARGV[#ARGV - 1])
end

-- The holder with `token` finds the lock no longer its own (it expired and was taken, was
-- deleted, or was broken): said once, not at every refresh that finds it so (a server of a
-- quorum that missed the hold would say it each time).
local function remember_lost(token)
  local id = holder_id(token)
  local last = redis.pcall('XREVRANGE', KEYS[7], '+', '-', 'COUNT', 16)
  if type(last) == 'table' then
    for _, item in ipairs(last) do
      local fields, event, who = item[2], nil, nil
      for i = 1, #fields, 2 do
        if fields[i] == 'event' then
          event = fields[i + 1]
        elseif fields[i] == 'id' then
          who = fields[i + 1]
        end
      end
      if who == id and event ~= 'acquired' then
        return
      end
    end
  end
  remember('lost', token, nil, '', now_ms(), {})
end
