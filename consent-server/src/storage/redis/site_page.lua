-- KEYS: 1 the log's size counter
-- ARGV: 1 prefix of the site's index strings, 2 the first chunk, 3 after (-1: from the start), 4 limit
local SITE_CHUNK = 1048576
local prefix, c, after, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local size = tonumber(redis.call("GET", KEYS[1]) or "0")
local last = math.floor((size - 1) / SITE_CHUNK)
local unpack8 = struct.unpack
local out, got = {}, 0
while c <= last and got < limit do
  local key = prefix .. c
  local n = redis.call("STRLEN", key) / 8
  local lo, hi = 0, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if unpack8(">I8", redis.call("GETRANGE", key, mid * 8, mid * 8 + 7)) > after then hi = mid else lo = mid + 1 end
  end
  if lo < n then
    local take = math.min(n - lo, limit - got)
    out[#out + 1] = redis.call("GETRANGE", key, lo * 8, (lo + take) * 8 - 1)
    got = got + take
  end
  c = c + 1
end
return table.concat(out)
