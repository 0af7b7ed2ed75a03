-- KEYS: 1 visitor, 2 sealing key, 3 by-consent index (layout 1), 4 the site's visitors hash
-- ARGV: 1 consent id
local secret = redis.call("GET", KEYS[1])
if not secret then return 0 end
local key = redis.call("GET", KEYS[2])
local v = secret
if key then v = v .. "\1" .. key else v = v .. string.rep("\0", 33) end
for _, i in ipairs(redis.call("ZRANGE", KEYS[3], 0, -1)) do
  local n, b = tonumber(i), {}
  for j = 8, 1, -1 do b[j] = n % 256; n = (n - b[j]) / 256 end
  v = v .. string.char(unpack(b))
end
redis.call("HSET", KEYS[4], ARGV[1], v)
redis.call("DEL", KEYS[1], KEYS[2], KEYS[3])
return 1
