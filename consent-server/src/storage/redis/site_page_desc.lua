-- KEYS: 1 the log's size counter
-- ARGV: 1 prefix of the site's index strings, 2 before (exclusive; -1: from the newest), 3 limit
-- Up to `limit` indexes below `before`, newest chunk first; within a chunk
-- the piece is in ascending order (the caller sorts the page).
local SITE_CHUNK = 1048576
local prefix, before, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local size = tonumber(redis.call("GET", KEYS[1]) or "0")
if before < 0 or before > size then before = size end
if before <= 0 then return "" end
local c = math.floor((before - 1) / SITE_CHUNK)
local unpack8 = struct.unpack
local out, got = {}, 0
while c >= 0 and got < limit do
  local key = prefix .. c
  local n = redis.call("STRLEN", key) / 8
  -- The first position holding an index at or above `before`.
  local lo, hi = 0, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if unpack8(">I8", redis.call("GETRANGE", key, mid * 8, mid * 8 + 7)) >= before then hi = mid else lo = mid + 1 end
  end
  if lo > 0 then
    local take = math.min(lo, limit - got)
    out[#out + 1] = redis.call("GETRANGE", key, (lo - take) * 8, lo * 8 - 1)
    got = got + take
  end
  c = c - 1
end
return table.concat(out)
