/**
 * @module plugins/rate-limit/token-bucket
 * The token bucket as a GCRA (generic cell rate algorithm), in memory: a bucket of
 * `limit` tokens refilled at `limit` per window, kept as one number, the theoretical
 * arrival time (TAT) at which the bucket would be full again. A request costs one
 * emission interval (window / limit); it is admitted when the TAT it would push to is
 * no more than one window ahead. A full bucket admits a burst of `limit`, then one
 * request per interval.
 */
import type { LimitOutcome, LimitRule } from "./decision.ts";

/** Float error in `limit * (window / limit)` must not refuse the last token. */
const epsilon = 1e-6;

export class TokenBucket {
  readonly #windowMs: number;
  readonly #intervalMs: number;
  /** When the bucket is full again; at or before now means full. */
  #tat = Number.NEGATIVE_INFINITY;

  constructor(rule: LimitRule) {
    this.#windowMs = rule.windowMs;
    this.#intervalMs = rule.windowMs / rule.limit;
  }

  /** What admitting one request at `now` would leave, without admitting it. */
  peek(now: number): LimitOutcome {
    return gcra(Math.max(this.#tat, now), now, this.#intervalMs, this.#windowMs);
  }

  /** Takes one token at `now` (after `peek` said it admits). */
  take(now: number): void {
    this.#tat = Math.max(this.#tat, now) + this.#intervalMs;
  }
}

/** GCRA for a bucket full again at `tat` (>= now); the Redis script does the same sums in Lua. */
function gcra(tat: number, now: number, intervalMs: number, windowMs: number): LimitOutcome {
  const next = tat + intervalMs;
  if (next - now > windowMs + epsilon) {
    return {
      admits: false,
      remaining: 0,
      resetMs: tat - now,
      retryAfterMs: next - windowMs - now,
    };
  }
  return {
    admits: true,
    remaining: Math.floor((windowMs - (next - now)) / intervalMs + epsilon),
    resetMs: next - now,
    retryAfterMs: 0,
  };
}
