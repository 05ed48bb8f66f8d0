/**
 * @module upstream/outcome-window
 * Counts of recent outcomes over a sliding time window, kept in a fixed ring of buckets
 * so memory stays bounded and old outcomes fall out as the clock moves. Shared by the
 * circuit breaker and outlier detection.
 */

/** Requests, failures and slow calls seen in a sliding window of clock time. */
export class OutcomeWindow {
  /** Requests in the window at the last `tally()`. */
  total = 0;
  /** Failures in the window at the last `tally()`. */
  failures = 0;
  /** Slow calls in the window at the last `tally()`. */
  slow = 0;
  readonly #width: number;
  readonly #buckets: number;
  /** Which bucket-width interval of time each slot currently counts; -Infinity when empty. */
  readonly #epochs: Float64Array;
  readonly #totals: Uint32Array;
  readonly #failures: Uint32Array;
  readonly #slow: Uint32Array;

  /**
   * An outcome counts for `windowMs` after it was added (to the precision of one bucket:
   * it falls out when its bucket does, between `windowMs - windowMs/buckets` and `windowMs`).
   */
  constructor(windowMs: number, buckets = 10) {
    this.#buckets = buckets;
    this.#width = Math.max(1, windowMs) / buckets;
    this.#epochs = new Float64Array(buckets).fill(Number.NEGATIVE_INFINITY);
    this.#totals = new Uint32Array(buckets);
    this.#failures = new Uint32Array(buckets);
    this.#slow = new Uint32Array(buckets);
  }

  /** Counts one outcome at clock time `now`. */
  add(now: number, failed: boolean, slow: boolean): void {
    const epoch = Math.floor(now / this.#width);
    const slot = epoch % this.#buckets;
    if (this.#epochs[slot] !== epoch) {
      this.#epochs[slot] = epoch;
      this.#totals[slot] = 0;
      this.#failures[slot] = 0;
      this.#slow[slot] = 0;
    }
    this.#totals[slot]++;
    if (failed) this.#failures[slot]++;
    if (slow) this.#slow[slot]++;
  }

  /** Sums the buckets still inside the window at `now` into `total`, `failures` and `slow`. */
  tally(now: number): this {
    const oldest = Math.floor(now / this.#width) - this.#buckets;
    let total = 0;
    let failures = 0;
    let slow = 0;
    for (let slot = 0; slot < this.#buckets; slot++) {
      if (this.#epochs[slot] <= oldest) continue;
      total += this.#totals[slot];
      failures += this.#failures[slot];
      slow += this.#slow[slot];
    }
    this.total = total;
    this.failures = failures;
    this.slow = slow;
    return this;
  }

  /** Forgets everything. */
  clear(): void {
    this.#epochs.fill(Number.NEGATIVE_INFINITY);
    this.total = 0;
    this.failures = 0;
    this.slow = 0;
  }
}
