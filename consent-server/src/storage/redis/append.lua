-- KEYS: 1 the log's size counter, then 1 per site in the batch: the site's visitors (hash)
-- ARGV: 1 prefix of the leaf lists, 2 the layout-2 leaves hash (stray leaves),
--   then per site: the prefix of its index strings, the prefix of its visitors' index
--   strings, the number of its decisions, then 6 per decision: consent id, leaf, for a
--   new visitor the head of its visitor field (secret hash, 1, sealing key: 65 bytes) or
--   "" for a returning one, the most decisions a visitor may hold (0: no bound), its
--   analytics hash (tallies:<site>:<day>, "" for none) and the fields it adds to, one a
--   line: "1<field>" or "0<field>" adds 1 or 0, "L<version>|l:<language>" adds 1 to a
--   language under the cap (see the end)
-- Returns each decision's index in ARGV order, -1 where a new visitor's id
-- exists already, -2 where a returning visitor is unknown, -3 where it holds
-- as many decisions as it may.
-- (Runs after settle_leaves.lua, which defines LEAF_CHUNK, floor, lists
-- and strays.)
local SITE_CHUNK = 1048576
local PER = 6
-- consent_core::analytics::MAX_LANGUAGES and OTHER_LANGUAGE.
local MAX_LANGUAGES, OTHER = 32, "other"
local pack = struct.pack

local sites, a, m = {}, 3, 0
for k = 2, #KEYS do
  local prefix, vprefix, count = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  local base0 = a + 3
  local ids = {}
  for i = 1, count do ids[i] = ARGV[base0 + (i - 1) * PER] end
  local cur = redis.call("HMGET", KEYS[k], unpack(ids))
  -- Per consent id, as this batch leaves it: whether the visitor exists and
  -- how many decisions it holds (counted only when a cap asks).
  local exists, held, ok, new = {}, {}, {}, {}
  for i = 1, count do
    local base = base0 + (i - 1) * PER
    local id, head, cap = ids[i], ARGV[base + 2], tonumber(ARGV[base + 3])
    local e = exists[id]
    if e == nil then e = cur[i] ~= false end
    if head ~= "" then
      if e then ok[i] = -1 else exists[id] = true; held[id] = 1; ok[i] = true; new[i] = true end
    elseif not e then
      ok[i] = -2
    else
      local n = held[id]
      if n == nil and cap > 0 then
        -- A layout-3 field may still hold older indexes after its head.
        n = (string.len(cur[i]) - 65) / 8 + redis.call("STRLEN", vprefix .. id) / 8
      end
      if cap > 0 and n >= cap then
        ok[i] = -3
      else
        if n ~= nil then held[id] = n + 1 end
        ok[i] = true
      end
    end
    if ok[i] == true then m = m + 1 end
  end
  sites[#sites + 1] = { k = k, prefix = prefix, vprefix = vprefix, base0 = base0, count = count, ok = ok, new = new }
  a = base0 + count * PER
end
local out = {}
-- Analytics counts of the decisions appended, summed per hash and field
-- before Redis is called: one HINCRBY per field a batch touches.
local tallies, torder = {}, {}
local idx = 0
if m > 0 then idx = redis.call("INCRBY", KEYS[1], m) - m end
local first = idx
local leaves = {}
for _, s in ipairs(sites) do
  local heads, appended, order = {}, {}, {}
  local chunk, packed = -1, {}
  for i = 1, s.count do
    local r = s.ok[i]
    if r == true then
      local base = s.base0 + (i - 1) * PER
      local id = ARGV[base]
      leaves[#leaves + 1] = ARGV[base + 1]
      local tkey = ARGV[base + 4]
      if tkey ~= "" then
        local t = tallies[tkey]
        if t == nil then
          t = { n = {}, order = {}, langs = {}, lorder = {} }
          tallies[tkey] = t
          torder[#torder + 1] = tkey
        end
        for tok in string.gmatch(ARGV[base + 5], "[^\n]+") do
          local kind, f = string.sub(tok, 1, 1), string.sub(tok, 2)
          if kind == "L" then
            if t.langs[f] == nil then t.langs[f] = 0; t.lorder[#t.lorder + 1] = f end
            t.langs[f] = t.langs[f] + 1
          else
            if t.n[f] == nil then t.n[f] = 0; t.order[#t.order + 1] = f end
            t.n[f] = t.n[f] + tonumber(kind)
          end
        end
      end
      local p = pack(">I8", idx)
      local c = floor(idx / SITE_CHUNK)
      if c ~= chunk then
        if #packed > 0 then redis.call("APPEND", s.prefix .. chunk, table.concat(packed)) end
        chunk, packed = c, {}
      end
      packed[#packed + 1] = p
      if s.new[i] then heads[#heads + 1] = id; heads[#heads + 1] = ARGV[base + 2] end
      -- The visitor's own indexes go to a string of their own, appended:
      -- recording costs the same however long the visitor's history.
      if appended[id] == nil then appended[id] = {}; order[#order + 1] = id end
      local t = appended[id]
      t[#t + 1] = p
      r = idx
      idx = idx + 1
    end
    out[#out + 1] = r
  end
  if #packed > 0 then
    redis.call("APPEND", s.prefix .. chunk, table.concat(packed))
    if #heads > 0 then redis.call("HSET", KEYS[s.k], unpack(heads)) end
    for _, id in ipairs(order) do redis.call("APPEND", s.vprefix .. id, table.concat(appended[id])) end
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
-- The counts: one HMGET and one HSET per hash, whatever the batch adds
-- (an HINCRBY per field cost Redis a call and an AOF entry each). A
-- language new to a (day, version) once it holds MAX_LANGUAGES others is
-- counted as OTHER, so visitors cannot grow a hash without bound;
-- "<version>|#l" counts the named languages it holds.
for _, key in ipairs(torder) do
  local t = tallies[key]
  local fields = {}
  for _, f in ipairs(t.order) do fields[#fields + 1] = f end
  local nf = #fields
  local seen, versions = {}, {}
  for _, f in ipairs(t.lorder) do
    fields[#fields + 1] = f
    local v = string.match(f, "^(.-)|l:")
    if not seen[v] then seen[v] = true; versions[#versions + 1] = v end
  end
  local nl = #fields
  for _, v in ipairs(versions) do
    fields[#fields + 1] = v .. "|#l"
    fields[#fields + 1] = v .. "|l:" .. OTHER
  end
  local cur = redis.call("HMGET", key, unpack(fields))
  local set = {}
  for i = 1, nf do
    set[#set + 1] = fields[i]
    set[#set + 1] = tonumber(cur[i] or "0") + t.n[fields[i]]
  end
  local named, other = {}, {}
  for j, v in ipairs(versions) do
    named[v] = tonumber(cur[nl + 2 * j - 1] or "0")
    other[v] = tonumber(cur[nl + 2 * j] or "0")
  end
  for i = nf + 1, nl do
    local f = fields[i]
    local v, lang = string.match(f, "^(.-)|l:(.*)$")
    local n = t.langs[f]
    if lang == OTHER then
      other[v] = other[v] + n
    elseif cur[i] then
      set[#set + 1] = f
      set[#set + 1] = tonumber(cur[i]) + n
    elseif named[v] < MAX_LANGUAGES then
      named[v] = named[v] + 1
      set[#set + 1] = f
      set[#set + 1] = n
    else
      other[v] = other[v] + n
    end
  end
  for _, v in ipairs(versions) do
    if named[v] > 0 then set[#set + 1] = v .. "|#l"; set[#set + 1] = named[v] end
    if other[v] > 0 then set[#set + 1] = v .. "|l:" .. OTHER; set[#set + 1] = other[v] end
  end
  redis.call("HSET", key, unpack(set))
end
return out
