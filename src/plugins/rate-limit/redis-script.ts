/**
 * @module plugins/rate-limit/redis-script
 * The one Lua script that decides a request in Redis: every limit is checked, then, only
 * if all of them admit, every limit is consumed, in one atomic step. A read-then-write
 * from the gateway (GET, then SET or INCR) lets concurrent gateways both read the last
 * free slot and both take it, the race Kong (#5311) and APISIX (#12592) shipped.
 *
 * Time is Redis's own (`TIME`), not the gateway's: every gateway process deciding on the
 * same key then agrees on one clock, so their clock skew can neither widen a window nor
 * refill a bucket early. The price is one clock per Redis, which is what a shared limit
 * wants anyway.
 *
 * KEYS[i]: limit i's key. ARGV[1]: "sw" (sliding window log) or "tb" (token bucket, GCRA);
 * ARGV[2]: a member unique to this request (the log's sorted-set member); then each
 * limit's count and window in microseconds. Returns admitted (1/0), then per limit:
 * remaining, microseconds to a full quota, microseconds until it admits again.
 */
export const rateLimitScript = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local sliding = ARGV[1] == 'sw'
local out = {1}
local tats = {}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  local remaining, reset, retry = 0, 0, 0
  if sliding then
    -- The log: admitted times in (now - window, now]; fewer than limit admits one more.
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', string.format('%.0f', now - window))
    local count = redis.call('ZCARD', KEYS[i])
    if count < limit then
      remaining = limit - count - 1
      reset = window
    else
      out[1] = 0
      local oldest = redis.call('ZRANGE', KEYS[i], count - limit, count - limit, 'WITHSCORES')
      local newest = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
      retry = tonumber(oldest[2]) + window - now
      reset = tonumber(newest[2]) + window - now
    end
  else
    -- GCRA: the bucket is full again at tat; one request pushes tat by one interval.
    local interval = window / limit
    local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
    if tat < now then tat = now end
    local nxt = tat + interval
    if nxt - now > window + 1 then
      out[1] = 0
      reset = tat - now
      retry = nxt - window - now
    else
      remaining = math.floor((window - (nxt - now)) / interval + 0.000001)
      reset = nxt - now
      tats[i] = nxt
    end
  end
  out[#out + 1] = remaining
  out[#out + 1] = math.ceil(reset)
  out[#out + 1] = math.ceil(retry)
end
if out[1] == 1 then
  for i = 1, #KEYS do
    local window = tonumber(ARGV[2 + 2 * i])
    if sliding then
      redis.call('ZADD', KEYS[i], string.format('%.0f', now), ARGV[2])
      redis.call('PEXPIRE', KEYS[i], math.ceil(window / 1000))
    else
      local ttl = math.ceil((tats[i] - now) / 1000) + 1
      redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', ttl)
    end
  end
end
return out
`;
