/**
 * @module plugins/rate-limit/sliding-window
 * The sliding window log, in memory: the times of the requests admitted in the last
 * window, oldest first, in a ring that never holds more than `limit` of them. A request
 * is admitted when fewer than `limit` were admitted in (now - window, now], so at most
 * `limit` requests are ever admitted in ANY interval one window long: no 2x burst across
 * a window boundary, as fixed windows and the two-bucket approximation allow.
 *
 * Cost: dropping expired times from the front is amortised O(1) per request (each time
 * is dropped once); memory is one float per request admitted in the window, at most
 * `limit`, grown on demand so a key that sends little costs little.
 */
import type { LimitOutcome, LimitRule } from "./decision.ts";

const initialCapacity = 8;

export class SlidingWindowLog {
  readonly #limit: number;
  readonly #windowMs: number;
  #times: Float64Array;
  /** Index of the oldest time in the ring. */
  #start = 0;
  #size = 0;

  constructor(rule: LimitRule) {
    this.#limit = rule.limit;
    this.#windowMs = rule.windowMs;
    this.#times = new Float64Array(Math.min(initialCapacity, rule.limit));
  }

  /** What admitting one request at `now` would leave, without admitting it. */
  peek(now: number): LimitOutcome {
    this.#expire(now);
    const window = this.#windowMs;
    if (this.#size < this.#limit) {
      // Admitted now, the whole quota is back one window after this request.
      return {
        admits: true,
        remaining: this.#limit - this.#size - 1,
        resetMs: window,
        retryAfterMs: 0,
      };
    }
    const oldest = this.#times[this.#start]!;
    const newest = this.#at(this.#size - 1);
    return {
      admits: false,
      remaining: 0,
      resetMs: newest + window - now,
      retryAfterMs: oldest + window - now,
    };
  }

  /** Records a request admitted at `now` (after `peek` said it admits). */
  take(now: number): void {
    if (this.#size === this.#times.length) this.#grow();
    this.#times[(this.#start + this.#size) % this.#times.length] = now;
    this.#size++;
  }

  #at(offset: number): number {
    return this.#times[(this.#start + offset) % this.#times.length]!;
  }

  /**
   * Drops the times at or before now - window: they no longer count. Compared as
   * `time + window <= now`, the sum `peek` tells a refused client to wait for, so that
   * waiting exactly retryAfterMs is enough whatever the float rounding.
   */
  #expire(now: number): void {
    const window = this.#windowMs;
    while (this.#size > 0 && this.#times[this.#start]! + window <= now) {
      this.#start = (this.#start + 1) % this.#times.length;
      this.#size--;
    }
  }

  #grow(): void {
    const grown = new Float64Array(Math.min(this.#times.length * 2, this.#limit));
    for (let i = 0; i < this.#size; i++) grown[i] = this.#at(i);
    this.#times = grown;
    this.#start = 0;
  }
}
