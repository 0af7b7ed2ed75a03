-- (Runs after settle_leaves.lua.) Appends one attestation leaf unless the
-- scan has one.
-- KEYS: 1 the log's size counter, 2 the site's attestations (hash: scan id ->
--   leaf index), 3 the site's attestation indexes (list, oldest first)
-- ARGV: 1, 2 as settle_leaves.lua, 3 the scan id, 4 the leaf
-- Returns {index, 1} for a new attestation, {index, 0} for the scan's
-- existing one.
local existing = redis.call("HGET", KEYS[2], ARGV[3])
if existing then return { tonumber(existing), 0 } end
local idx = redis.call("INCR", KEYS[1]) - 1
redis.call("RPUSH", lists .. floor(idx / LEAF_CHUNK), ARGV[4])
redis.call("HSET", KEYS[2], ARGV[3], idx)
redis.call("RPUSH", KEYS[3], idx)
return { idx, 1 }
