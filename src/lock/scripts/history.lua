-- The lock's history (KEYS[7], a list, oldest first): an entry each time a hold begins on this
-- server and each time one ends as rlock sees it (released, stopped, lost, broken), written by
-- the same script that changes the lock. Each entry is a JSON object of strings. It is capped
-- (LTRIM to the last entries) and expires (PEXPIRE with every entry), so a lock nobody uses
-- leaves nothing behind for long. (A list, not a stream: a stream takes about 4.7 KB from its
-- first entry, a list about 0.5 KB for a hold, and lock names used once are common.) Every
-- script that writes it takes the cap and the lifetime in ms as its last arguments but one
-- (ARGV[#ARGV - 2] and ARGV[#ARGV - 1]; the fencing counter's lifetime is last). Tokens never go
-- in: a holder is named by the digest inspect.lua shows (the first 16 hex digits of its
-- token's SHA1).

-- The holder fields an entry copies from the holder's record, and last when the hold began
-- (which an end turns into how long it lasted).
local LOGGED = {'host', 'pid', 'user', 'program', 'label', 'fence', 'since_ms'}

local function holder_id(token)
  return string.sub(redis.sha1hex(token), 1, 16)
end

-- Add an entry: `event` happened to the holder with `token` at `now`, in mode `mode` ('' when
-- not known), whose record is the hash `record` (nil when it is gone; or, from a caller that has
-- just written it, a table of its LOGGED fields by name); `extra` field/value pairs go with it.
-- An end says how long the hold lasted (held_ms) when its record says when it began. Best
-- effort: a key of another type at KEYS[7] loses the entry, never the change.
local function remember(event, token, record, mode, now, extra)
  local entry = {event = event, at = string.format('%.0f', now), id = holder_id(token)}
  if mode ~= '' then
    entry.mode = mode
  end
  if record then
    local values = {}
    if type(record) == 'table' then
      for i, field in ipairs(LOGGED) do
        values[i] = record[field]
      end
    else
      values = redis.call('HMGET', record, unpack(LOGGED))
    end
    for i = 1, #LOGGED - 1 do
      if values[i] then
        entry[LOGGED[i]] = values[i]
      end
    end
    local since = tonumber(values[#LOGGED])
    if event ~= 'acquired' and since then
      entry.held_ms = string.format('%.0f', math.max(now - since, 0))
    end
  end
  extra = extra or {}
  for i = 1, #extra, 2 do
    entry[extra[i]] = extra[i + 1]
  end
  local length = redis.pcall('RPUSH', KEYS[7], cjson.encode(entry))
  if type(length) == 'number' then
    local cap = tonumber(ARGV[#ARGV - 2])
    if length > cap then
      redis.pcall('LTRIM', KEYS[7], -cap, -1)
    end
    redis.pcall('PEXPIRE', KEYS[7], ARGV[#ARGV - 1])
  end
end

-- The holder with `token` finds the lock no longer its own (it expired and was taken, was
-- deleted, or was broken): said once, not at every refresh that finds it so (a server of a
-- quorum that missed the hold would say it each time).
local function remember_lost(token)
  local id = holder_id(token)
  local last = redis.pcall('LRANGE', KEYS[7], -16, -1)
  if type(last) == 'table' then
    for _, text in ipairs(last) do
      local ok, entry = pcall(cjson.decode, text)
      if ok and type(entry) == 'table' and entry.id == id and entry.event ~= 'acquired' then
        return
      end
    end
  end
  remember('lost', token, nil, '', now_ms(), {})
end
