-- KEYS: 1 the log's size counter, then 1 per site in the batch: the site's visitors (hash)
-- ARGV: 1 prefix of the leaf lists, 2 the layout-2 leaves hash (stray leaves),
--   then per site: the prefix of its index strings, the number of its decisions, then 3 per
--   decision: consent id, leaf, and for a new visitor the head of its visitor field
--   (secret hash, 1, sealing key: 65 bytes), "" for a returning one
-- Returns each decision's index in ARGV order, -1 where a new visitor's id
-- exists already, -2 where a returning visitor is unknown.
local LEAF_CHUNK, SITE_CHUNK = 4096, 1048576
local pack, floor = struct.pack, math.floor
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

local sites, a, m = {}, 3, 0
for k = 2, #KEYS do
  local prefix, count = ARGV[a], tonumber(ARGV[a + 1])
  local ids = {}
  for i = 1, count do ids[i] = ARGV[a + 2 + (i - 1) * 3] end
  local cur = redis.call("HMGET", KEYS[k], unpack(ids))
  -- The visitor fields as this batch leaves them, by consent id.
  local now, ok = {}, {}
  for i = 1, count do
    local id, head = ids[i], ARGV[a + (i - 1) * 3 + 4]
    local v = now[id]
    if v == nil then v = cur[i] end
    if head ~= "" then
      if v then ok[i] = -1 else now[id] = head; ok[i] = true end
    elseif v then
      now[id] = v; ok[i] = true
    else
      ok[i] = -2
    end
    if ok[i] == true then m = m + 1 end
  end
  sites[#sites + 1] = { k = k, prefix = prefix, a = a + 2, count = count, ok = ok, cur = cur }
  a = a + 2 + count * 3
end
local out = {}
local idx = 0
if m > 0 then idx = redis.call("INCRBY", KEYS[1], m) - m end
local first = idx
local leaves = {}
for _, s in ipairs(sites) do
  local hset, now = {}, {}
  local chunk, packed = -1, {}
  for i = 1, s.count do
    local r = s.ok[i]
    if r == true then
      local base = s.a + (i - 1) * 3
      local id = ARGV[base]
      leaves[#leaves + 1] = ARGV[base + 1]
      local p = pack(">I8", idx)
      local c = floor(idx / SITE_CHUNK)
      if c ~= chunk then
        if #packed > 0 then redis.call("APPEND", s.prefix .. chunk, table.concat(packed)) end
        chunk, packed = c, {}
      end
      packed[#packed + 1] = p
      local v = now[id]
      if v == nil then
        local head = ARGV[base + 2]
        if head ~= "" then v = head else v = s.cur[i] end
      end
      now[id] = v .. p
      r = idx
      idx = idx + 1
    end
    out[#out + 1] = r
  end
  if #packed > 0 then
    redis.call("APPEND", s.prefix .. chunk, table.concat(packed))
    for id, v in pairs(now) do hset[#hset + 1] = id; hset[#hset + 1] = v end
    redis.call("HSET", KEYS[s.k], unpack(hset))
  end
end
-- The leaves, in index order, split where a list ends.
local i = 1
while i <= #leaves do
  local at = first + i - 1
  local c = floor(at / LEAF_CHUNK)
  local n = math.min(#leaves - i + 1, (c + 1) * LEAF_CHUNK - at)
  redis.call("RPUSH", lists .. c, unpack(leaves, i, i + n - 1))
  i = i + n
end
return out
