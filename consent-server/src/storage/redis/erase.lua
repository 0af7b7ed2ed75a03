-- KEYS: 1 the site's visitors hash; ARGV: 1 consent id
local v = redis.call("HGET", KEYS[1], ARGV[1])
if not v or string.byte(v, 33) ~= 1 then return 0 end
redis.call("HSET", KEYS[1], ARGV[1], string.sub(v, 1, 32) .. string.rep("\0", 33) .. string.sub(v, 66))
return 1
