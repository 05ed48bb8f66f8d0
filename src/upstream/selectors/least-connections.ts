/**
 * @module upstream/selectors/least-connections
 * The available target with the fewest requests in flight for its weight.
 */
import type { Target } from "../target.ts";
import { LowestCostScan } from "./lowest-cost.ts";
import type { SelectionOptions, SelectionRequest, Selector } from "./selector.ts";

/**
 * Lowest `inFlight / weight` wins, so a target of weight 2 carries twice the concurrent
 * requests of one of weight 1. O(n) a pick: every target's load is read each time.
 */
export class LeastConnectionsSelector implements Selector {
  readonly #scan = new LowestCostScan((target) => target.inFlight / target.weight);

  select(
    targets: readonly Target[],
    _request: SelectionRequest,
    options?: SelectionOptions,
  ): Target | undefined {
    return this.#scan.pick(targets, options);
  }
}
