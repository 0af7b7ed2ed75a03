-- KEYS: 1 lease, 2 checkpoint size, 3 checkpoint note, 4.. tiles
-- ARGV: 1 holder, 2 previous size ("" if none), 3 new size, 4 note, 5.. tile bytes for KEYS[4..]
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
local cur = redis.call("GET", KEYS[2])
if (cur or "") ~= ARGV[2] then return 0 end
for i = 4, #KEYS do redis.call("SET", KEYS[i], ARGV[i + 1]) end
redis.call("SET", KEYS[2], ARGV[3])
redis.call("SET", KEYS[3], ARGV[4])
return 1
