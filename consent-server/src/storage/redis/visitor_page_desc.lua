-- KEYS: 1 a visitor's leaf string (8-byte big-endian indexes, ascending)
-- ARGV: 1 before (exclusive; -1: from the newest), 2 limit
-- Up to `limit` of the visitor's indexes below `before`, ascending: binary
-- search, then one range, so a page costs the same at any history length.
local key, before, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local n = redis.call("STRLEN", key) / 8
local hi = n
if before >= 0 then
  local lo, h = 0, n
  while lo < h do
    local mid = math.floor((lo + h) / 2)
    if struct.unpack(">I8", redis.call("GETRANGE", key, mid * 8, mid * 8 + 7)) >= before then h = mid else lo = mid + 1 end
  end
  hi = lo
end
local take = math.min(hi, limit)
if take <= 0 then return "" end
return redis.call("GETRANGE", key, (hi - take) * 8, hi * 8 - 1)
