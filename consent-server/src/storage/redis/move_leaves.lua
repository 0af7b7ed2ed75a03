-- KEYS: 1 the list, 2 the layout-2 leaves hash; ARGV: 1 the list's first index, 2 how many it holds
local first, count = tonumber(ARGV[1]), tonumber(ARGV[2])
local have = redis.call("LLEN", KEYS[1])
if have >= count then return 0 end
local fields = {}
for i = have, count - 1 do fields[#fields + 1] = first + i end
local leaves = redis.call("HMGET", KEYS[2], unpack(fields))
for i = 1, #fields do
  if not leaves[i] then return redis.error_reply("LACKSLEAF the log lacks leaf " .. fields[i]) end
end
redis.call("RPUSH", KEYS[1], unpack(leaves))
redis.call("HDEL", KEYS[2], unpack(fields))
return #fields
