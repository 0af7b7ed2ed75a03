-- KEYS: 1 site, 2 config (or "" ); ARGV: 1 expected old json, 2 new json, 3 config json
local old = redis.call("GET", KEYS[1])
if old == false then return -1 end
if old ~= ARGV[1] then return 0 end
if ARGV[3] ~= "" then redis.call("SET", KEYS[2], ARGV[3], "NX") end
redis.call("SET", KEYS[1], ARGV[2])
return 1
