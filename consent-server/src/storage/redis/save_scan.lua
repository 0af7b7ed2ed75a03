-- KEYS: 1 scan hash, 2 site's scan index (all scores 0: ordered by id)
-- ARGV: 1 id, 2 meta json, 3 report
if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
redis.call("HSET", KEYS[1], "meta", ARGV[2], "report", ARGV[3])
redis.call("ZADD", KEYS[2], 0, ARGV[1])
return 1
