/**
 * @module upstream/selectors/least-response-time
 * The available target expected to answer soonest: peak-EWMA latency times the requests
 * already waiting on it, per unit of weight (Finagle's and Linkerd's balancer cost).
 */
import type { Target } from "../target.ts";
import { LowestCostScan } from "./lowest-cost.ts";
import type { SelectionOptions, SelectionRequest, Selector } from "./selector.ts";

/**
 * The cost of an unmeasured target that is already busy: above any measured cost, so a
 * new target gets one request at a time until its first answer tells how fast it is,
 * rather than the whole flood that its cost of 0 would otherwise attract.
 */
const unmeasuredBusyCost = 1e12;

/** Lowest `(latency + 1) × (inFlight + 1) / weight` wins; idle unmeasured targets first. O(n). */
export class LeastResponseTimeSelector implements Selector {
  readonly #scan = new LowestCostScan(responseCost);

  select(
    targets: readonly Target[],
    _request: SelectionRequest,
    options?: SelectionOptions,
  ): Target | undefined {
    return this.#scan.pick(targets, options);
  }
}

/** What sending one more request to `target` is expected to cost, in weighted ms. */
export function responseCost(target: Target): number {
  const latency = target.latency.value;
  const waiting = target.inFlight + 1;
  // The +1 ms keeps queue length counting between targets that answer in well under 1 ms.
  if (latency > 0) return ((latency + 1) * waiting) / target.weight;
  return target.inFlight === 0 ? 0 : (unmeasuredBusyCost * waiting) / target.weight;
}
