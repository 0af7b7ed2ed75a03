-- KEYS: 1 the layout-2 sorted set; ARGV: 1 prefix of the site's index strings
local SITE_CHUNK = 1048576
local popped = redis.call("ZPOPMIN", KEYS[1], 8192)
local chunk, packed = -1, {}
for i = 2, #popped, 2 do
  local idx = tonumber(popped[i])
  local c = math.floor(idx / SITE_CHUNK)
  if c ~= chunk then
    if #packed > 0 then redis.call("APPEND", ARGV[1] .. chunk, table.concat(packed)) end
    chunk, packed = c, {}
  end
  packed[#packed + 1] = struct.pack(">I8", idx)
end
if #packed > 0 then redis.call("APPEND", ARGV[1] .. chunk, table.concat(packed)) end
return #popped / 2
