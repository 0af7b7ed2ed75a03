-- KEYS: 1 site, 2 site set, 3 config; ARGV: 1 site id, 2 site json, 3 config json
if redis.call("SET", KEYS[1], ARGV[2], "NX") == false then return 0 end
redis.call("SADD", KEYS[2], ARGV[1])
redis.call("SET", KEYS[3], ARGV[3])
return 1
