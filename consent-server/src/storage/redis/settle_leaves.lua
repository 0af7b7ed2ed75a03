-- The head of every script that pushes leaves (append.lua, attest.lua),
-- prepended to each one's text: KEYS[1] the log's size counter, ARGV[1] the
-- prefix of the leaf lists, ARGV[2] the layout-2 leaves hash (stray leaves).
local LEAF_CHUNK = 4096
local floor = math.floor
local lists, strays = ARGV[1], ARGV[2]

-- Every leaf below the size must be in its list before more are pushed, or
-- positions would shift. A server of layout 2 still running after the move
-- leaves its leaves in the old hash: they move to their places first.
local size = tonumber(redis.call("GET", KEYS[1]) or "0")
if size > 0 then
  local c = floor((size - 1) / LEAF_CHUNK)
  local n = redis.call("LLEN", lists .. c)
  while n == 0 and c > 0 do
    local before = redis.call("LLEN", lists .. (c - 1))
    if before == LEAF_CHUNK then break end
    c, n = c - 1, before
  end
  for i = c * LEAF_CHUNK + n, size - 1 do
    local leaf = redis.call("HGET", strays, i)
    if not leaf then return redis.error_reply("LACKSLEAF the log lacks leaf " .. i) end
    redis.call("RPUSH", lists .. floor(i / LEAF_CHUNK), leaf)
    redis.call("HDEL", strays, i)
  end
end
