/**
 * @module upstream/selectors/power-of-two
 * Power of two choices: two distinct random available targets, the less loaded one wins.
 * Nearly as even as least-connections at O(1) a pick, and without least-connections'
 * herding, where every gateway sends to the same momentarily idle target.
 */
import type { Target } from "../target.ts";
import type { RandomSource, SelectionOptions, SelectionRequest, Selector } from "./selector.ts";
import { uniformIndex } from "./uniform-pick.ts";

/** The one with fewer requests in flight of two random targets; weights are ignored. */
export class PowerOfTwoSelector implements Selector {
  readonly #random: RandomSource;

  constructor(random: RandomSource = Math.random) {
    this.#random = random;
  }

  select(
    targets: readonly Target[],
    _request: SelectionRequest,
    options?: SelectionOptions,
  ): Target | undefined {
    const first = uniformIndex(targets, this.#random, options);
    if (first === -1) return undefined;
    const second = uniformIndex(targets, this.#random, options, first);
    const a = targets[first]!;
    if (second === -1) return a;
    const b = targets[second]!;
    return b.inFlight < a.inFlight ? b : a;
  }
}
