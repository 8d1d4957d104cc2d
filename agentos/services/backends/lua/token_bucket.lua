-- Token bucket of `limit` tokens refilled at limit/window per microsecond.
-- KEYS[1] hash {tokens, ts}. ARGV: limit, window_us, cost, partial (1: grant what fits).
-- Returns {allowed, remaining, reset_us, retry_us, granted}; the clock is the server's.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local partial = ARGV[4] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rate = limit / window
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local stamp = tonumber(state[2])
if tokens == nil or stamp == nil then
  tokens, stamp = limit, now
end
tokens = math.min(limit, tokens + math.max(0, now - stamp) * rate)
if partial then
  cost = math.max(1, math.min(cost, math.floor(tokens)))
end
local allowed, retry = 0, 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry = math.ceil((cost - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1)
return {allowed, math.floor(tokens), math.ceil((limit - tokens) / rate), retry, allowed * cost}
