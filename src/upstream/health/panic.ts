/**
 * @module upstream/health/panic
 * The panic threshold (Envoy's): when too few of a service's targets are usable, health,
 * ejection and breakers are ignored and traffic is spread over every target, on the bet
 * that a mostly failing fleet, or a health check that is itself wrong, beats a certain 503.
 */
import type { Clock } from "../clock.ts";
import type { Target } from "../target.ts";

/**
 * Whether fewer than `thresholdPercent` of `targets` are `usable()`. Never with a
 * threshold of 0 or no targets. O(n), stopping as soon as enough usable targets are seen.
 */
export function inPanic(targets: readonly Target[], thresholdPercent: number): boolean {
  const count = targets.length;
  if (thresholdPercent <= 0 || count === 0) return false;
  const needed = thresholdPercent * count;
  let usable = 0;
  for (let i = 0; i < count; i++) {
    if (targets[i]!.usable() && ++usable * 100 >= needed) return false;
  }
  return true;
}

/**
 * What a selector should ask instead of `available()` while its service is in panic: any
 * target that is not full. Health, ejection and the breaker are ignored; connection
 * limits are not, as they protect the target rather than judge it.
 */
export function admitsInPanic(target: Target): boolean {
  return target.maxConnections === 0 || target.inFlight < target.maxConnections;
}

/**
 * Up to this many targets, walking them is cheaper than reading the clock to consult a
 * cache (a healthy target costs ~5 ns to ask, `performance.now()` ~100 ns).
 */
const uncachedUpTo = 32;

/**
 * A service's panic threshold for the request path: `inPanic` computed at most once per
 * clock millisecond for the same targets list, so a 1,000-target service does not walk
 * its targets on every request (2.5 µs at a 50% threshold, against 0.1 µs cached). A
 * millisecond of staleness is below anything a health check, an ejection or a breaker
 * can resolve. Small services are walked every time: that is cheaper than the clock.
 */
export class PanicThreshold {
  readonly thresholdPercent: number;
  readonly #clock: Clock;
  #targets: readonly Target[] | undefined;
  #millisecond = Number.NEGATIVE_INFINITY;
  #panic = false;

  constructor(thresholdPercent: number, clock: Clock) {
    this.thresholdPercent = thresholdPercent;
    this.#clock = clock;
  }

  /** Whether the service whose targets these are is in panic now. */
  test(targets: readonly Target[]): boolean {
    if (this.thresholdPercent <= 0) return false;
    if (targets.length <= uncachedUpTo) return inPanic(targets, this.thresholdPercent);
    const millisecond = Math.floor(this.#clock.now());
    if (millisecond !== this.#millisecond || targets !== this.#targets) {
      this.#millisecond = millisecond;
      this.#targets = targets;
      this.#panic = inPanic(targets, this.thresholdPercent);
    }
    return this.#panic;
  }
}
