/**
 * @module upstream/selectors/weighted-random
 * A random available target, each as likely as its share of the total weight.
 */
import type { Target } from "../target.ts";
import {
  admissible,
  type RandomSource,
  type SelectionOptions,
  type SelectionRequest,
  type Selector,
} from "./selector.ts";
import { randomProbes } from "./uniform-pick.ts";

/**
 * Draws a point on the cumulative weights (kept per targets array) and finds its target by
 * binary search: O(log n) a pick. A draw that lands on a target that cannot be picked is
 * redrawn, which keeps the odds of the others proportional to their weights.
 */
export class WeightedRandomSelector implements Selector {
  readonly #random: RandomSource;
  #targets: readonly Target[] | undefined;
  /** cumulative[i] = weight of targets 0..i. */
  #cumulative = new Float64Array(0);

  constructor(random: RandomSource = Math.random) {
    this.#random = random;
  }

  select(
    targets: readonly Target[],
    _request: SelectionRequest,
    options?: SelectionOptions,
  ): Target | undefined {
    const count = targets.length;
    if (count === 0) return undefined;
    if (targets !== this.#targets) this.#prepare(targets);
    const cumulative = this.#cumulative;
    const total = cumulative[count - 1]!;
    for (let probe = 0; probe < randomProbes; probe++) {
      const target = targets[upperBound(cumulative, this.#random() * total)]!;
      if (admissible(target, options)) return target;
    }
    return this.#scan(targets, options);
  }

  #prepare(targets: readonly Target[]): void {
    this.#targets = targets;
    this.#cumulative = new Float64Array(targets.length);
    let sum = 0;
    for (let i = 0; i < targets.length; i++) {
      sum += Math.max(0, targets[i]!.weight);
      this.#cumulative[i] = sum;
    }
  }

  /** One weighted draw over the admissible targets only, for a mostly unavailable pool. */
  #scan(targets: readonly Target[], options: SelectionOptions | undefined): Target | undefined {
    let total = 0;
    for (const target of targets) if (admissible(target, options)) total += target.weight;
    if (total <= 0) return undefined;
    let point = this.#random() * total;
    let last: Target | undefined;
    for (const target of targets) {
      if (!admissible(target, options)) continue;
      last = target;
      point -= target.weight;
      if (point < 0) return target;
    }
    return last;
  }
}

/** The first index whose cumulative weight is above `point`. */
function upperBound(cumulative: Float64Array, point: number): number {
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (cumulative[middle]! > point) high = middle;
    else low = middle + 1;
  }
  return low;
}
