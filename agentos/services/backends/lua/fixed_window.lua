-- Fixed window starting at the first hit. KEYS[1] hash {start, used}.
-- ARGV: limit, window_us, cost, partial (1: grant what fits).
-- Returns {allowed, remaining, reset_us, retry_us, granted}.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local partial = ARGV[4] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'start', 'used')
local start = tonumber(state[1])
local used = tonumber(state[2])
if start == nil or used == nil or now >= start + window then
  start, used = now, 0
end
if partial then
  cost = math.max(1, math.min(cost, limit - used))
end
local allowed, retry = 0, 0
local reset = start + window - now
if used + cost <= limit then
  used = used + cost
  allowed = 1
  redis.call('HSET', KEYS[1], 'start', start, 'used', used)
  redis.call('PEXPIRE', KEYS[1], math.ceil(reset / 1000) + 1)
else
  retry = reset
end
return {allowed, limit - used, reset, retry, allowed * cost}
