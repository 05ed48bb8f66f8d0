/**
 * @module upstream/selectors/least-connections
 * The available target with the fewest requests in flight for its weight.
 */
import type { Target } from "../target.ts";
import {
  admissible,
  type SelectionOptions,
  type SelectionRequest,
  type Selector,
} from "./selector.ts";

/**
 * Lowest `inFlight / weight` wins, so a target of weight 2 carries twice the concurrent
 * requests of one of weight 1. O(n) a pick: every target's load is read each time.
 */
export class LeastConnectionsSelector implements Selector {
  #start = 0;

  select(
    targets: readonly Target[],
    _request: SelectionRequest,
    options?: SelectionOptions,
  ): Target | undefined {
    const count = targets.length;
    if (count === 0) return undefined;
    // Scanning from a moving start makes the first of equally loaded targets (all of
    // them, when idle) a different one each pick, so ties spread instead of piling up.
    const start = this.#start % count;
    this.#start = start + 1;
    let best: Target | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (let step = 0; step < count; step++) {
      const index = start + step < count ? start + step : start + step - count;
      const target = targets[index]!;
      const load = target.inFlight / target.weight;
      if (load < bestLoad && admissible(target, options)) {
        best = target;
        bestLoad = load;
      }
    }
    return best;
  }
}
