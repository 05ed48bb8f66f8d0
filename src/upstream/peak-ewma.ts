/**
 * @module upstream/peak-ewma
 * Peak-EWMA latency (as in Finagle and Linkerd): a slow response raises the estimate at
 * once, and it decays back over `decayMs`, so a target that just got slow stops getting
 * traffic quickly and earns it back gradually.
 */
import type { Clock } from "./clock.ts";

export class PeakEwma {
  #value = 0;
  #stamp: number;
  readonly #clock: Clock;
  readonly #decayMs: number;

  constructor(clock: Clock, decayMs = 10_000) {
    this.#clock = clock;
    this.#decayMs = decayMs;
    this.#stamp = clock.now();
  }

  /** Adds one observed latency. */
  record(ms: number): void {
    const now = this.#clock.now();
    if (ms > this.#value) {
      this.#value = ms;
    } else {
      const weight = Math.exp(-Math.max(0, now - this.#stamp) / this.#decayMs);
      this.#value = this.#value * weight + ms * (1 - weight);
    }
    this.#stamp = now;
  }

  /** The current estimate in ms (0 until something was recorded). */
  get value(): number {
    return this.#value;
  }
}
