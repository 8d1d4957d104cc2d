-- Exact sliding log. KEYS[1] sorted set of admitted hits (score = time in us),
-- KEYS[2] member sequence. ARGV: limit, window_us, cost, partial (1: grant what fits).
-- Returns {allowed, remaining, reset_us, retry_us, granted}; the clock is the server's.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local partial = ARGV[4] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if partial then
  cost = math.max(1, math.min(cost, limit - count))
end
local allowed, retry = 0, 0
if count + cost <= limit then
  local last = redis.call('INCRBY', KEYS[2], cost)
  for member = last - cost + 1, last do
    redis.call('ZADD', KEYS[1], now, member)
  end
  count = count + cost
  allowed = 1
  local ttl_ms = math.ceil(window / 1000) + 1
  redis.call('PEXPIRE', KEYS[1], ttl_ms)
  redis.call('PEXPIRE', KEYS[2], ttl_ms)
else
  local index = count + cost - limit - 1
  local entry = redis.call('ZRANGE', KEYS[1], index, index, 'WITHSCORES')
  retry = tonumber(entry[2]) + window - now
end
local reset = 0
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if newest[2] then
  reset = tonumber(newest[2]) + window - now
end
return {allowed, limit - count, reset, retry, allowed * cost}
