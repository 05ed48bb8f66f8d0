/**
 * @module plugins/rate-limit/redis-script
 * The one Lua script that decides requests in Redis: for each request in turn, every limit
 * is checked, then, only if all of them admit, every limit is consumed, in one atomic
 * step. A read-then-write from the gateway (GET, then SET or INCR) lets concurrent
 * gateways both read the last free slot and both take it, the race Kong (#5311) and
 * APISIX (#12592) shipped.
 *
 * One call decides a batch of requests (those a gateway sends in one round trip), in the
 * order given, exactly as one call per request made at the same instant would: Redis's
 * per-call work (reading the command, starting the script, the reply) is paid once per
 * batch, and a key that several requests of the batch share is read once (the log's size
 * or the bucket's state is then kept in the script) and written once at the end, instead
 * of four commands per request. A refusal reads the log after writing what the batch
 * added to it, so its figures are the ones a lone call would give.
 *
 * Time is Redis's own (`TIME`), not the gateway's: every gateway process deciding on the
 * same key then agrees on one clock, so their clock skew can neither widen a window nor
 * refill a bucket early. The price is one clock per Redis, which is what a shared limit
 * wants anyway.
 *
 * ARGV[1]: "sw" (sliding window log) or "tb" (token bucket, GCRA); ARGV[2]: the number
 * of limits L; then each limit's count and window in microseconds; then one member per
 * request, unique to it (the log's sorted-set member). KEYS: L keys per request, in the
 * limits' order. Returns, per request: admitted (1/0), then per limit: remaining,
 * microseconds to a full quota, microseconds until it admits again.
 */
export const rateLimitScript = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local score = string.format('%.0f', now)
local sliding = ARGV[1] == 'sw'
local count = tonumber(ARGV[2])
local limits, windows = {}, {}
for i = 1, count do
  limits[i] = tonumber(ARGV[1 + 2 * i])
  windows[i] = tonumber(ARGV[2 + 2 * i])
end
local members = 2 + 2 * count
-- Per key: the log's size or the bucket's tat as this call left it, the log's members
-- not yet written (score, member pairs), and the keys written, in first-use order.
local sizes, tats, adds, written, window = {}, {}, {}, {}, {}
local function flush(key)
  local pairs_ = adds[key]
  for s = 1, #pairs_, 2000 do
    redis.call('ZADD', key, unpack(pairs_, s, math.min(s + 1999, #pairs_)))
  end
  adds[key] = {}
end
local out = {}
for r = 0, #KEYS / count - 1 do
  local at = #out + 1
  out[at] = 1
  local nexts = {}
  for i = 1, count do
    local key = KEYS[r * count + i]
    local limit, span = limits[i], windows[i]
    local remaining, reset, retry = 0, 0, 0
    if sliding then
      -- The log: admitted times in (now - window, now]; fewer than limit admits one more.
      local size = sizes[key]
      if size == nil then
        redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.0f', now - span))
        size = redis.call('ZCARD', key)
        sizes[key] = size
        adds[key] = {}
      end
      if size < limit then
        remaining = limit - size - 1
        reset = span
      else
        out[at] = 0
        flush(key)
        local oldest = redis.call('ZRANGE', key, size - limit, size - limit, 'WITHSCORES')
        local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
        retry = tonumber(oldest[2]) + span - now
        reset = tonumber(newest[2]) + span - now
      end
    else
      -- GCRA: the bucket is full again at tat; one request pushes tat by one interval.
      local interval = span / limit
      if tats[key] == nil then tats[key] = tonumber(redis.call('GET', key) or '0') end
      local tat = tats[key]
      if tat < now then tat = now end
      local nxt = tat + interval
      if nxt - now > span + 1 then
        out[at] = 0
        reset = tat - now
        retry = nxt - span - now
      else
        remaining = math.floor((span - (nxt - now)) / interval + 0.000001)
        reset = nxt - now
        nexts[i] = nxt
      end
    end
    out[#out + 1] = remaining
    out[#out + 1] = math.ceil(reset)
    out[#out + 1] = math.ceil(retry)
  end
  if out[at] == 1 then
    local member = ARGV[members + r + 1]
    for i = 1, count do
      local key = KEYS[r * count + i]
      if window[key] == nil then
        written[#written + 1] = key
        window[key] = windows[i]
      end
      if sliding then
        -- The same limit twice in one request is one key: one entry, as ZADD would keep.
        local pending = adds[key]
        if pending[#pending] ~= member then
          pending[#pending + 1] = score
          pending[#pending + 1] = member
          sizes[key] = sizes[key] + 1
        end
      else
        tats[key] = nexts[i]
      end
    end
  end
end
for _, key in ipairs(written) do
  if sliding then
    flush(key)
    redis.call('PEXPIRE', key, math.ceil(window[key] / 1000))
  else
    local ttl = math.ceil((tats[key] - now) / 1000) + 1
    redis.call('SET', key, string.format('%.0f', tats[key]), 'PX', ttl)
  end
end
return out
`;
