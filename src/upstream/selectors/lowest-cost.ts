/**
 * @module upstream/selectors/lowest-cost
 * The scan behind the least-* selectors: the admissible target with the lowest cost,
 * read from a start that moves each pick so that ties (all idle targets, say) spread
 * instead of piling onto the first.
 */
import type { Target } from "../target.ts";
import { admissible, type SelectionOptions } from "./selector.ts";

/** Picks by lowest `cost`; O(n). One per selector instance: it owns the moving start. */
export class LowestCostScan {
  #start = 0;
  readonly #cost: (target: Target) => number;

  constructor(cost: (target: Target) => number) {
    this.#cost = cost;
  }

  pick(targets: readonly Target[], options: SelectionOptions | undefined): Target | undefined {
    const count = targets.length;
    if (count === 0) return undefined;
    const start = this.#start % count;
    this.#start = start + 1;
    let best: Target | undefined;
    let bestCost = Number.POSITIVE_INFINITY;
    for (let step = 0; step < count; step++) {
      const index = start + step < count ? start + step : start + step - count;
      const target = targets[index]!;
      const cost = this.#cost(target);
      if (cost < bestCost && admissible(target, options)) {
        best = target;
        bestCost = cost;
      }
    }
    return best;
  }
}
