local h = redis.call("GET", KEYS[1])
if h == false then redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2]) return 1 end
if h == ARGV[1] then redis.call("PEXPIRE", KEYS[1], ARGV[2]) return 1 end
return 0
