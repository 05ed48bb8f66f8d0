/**
 * @module upstream/selectors/random
 * A uniformly random available target; weights are ignored (see weighted-random).
 */
import type { Target } from "../target.ts";
import type { RandomSource, SelectionOptions, SelectionRequest, Selector } from "./selector.ts";
import { uniformIndex } from "./uniform-pick.ts";

/** Every available target equally likely; no state shared between picks. */
export class RandomSelector implements Selector {
  readonly #random: RandomSource;

  constructor(random: RandomSource = Math.random) {
    this.#random = random;
  }

  select(
    targets: readonly Target[],
    _request: SelectionRequest,
    options?: SelectionOptions,
  ): Target | undefined {
    const index = uniformIndex(targets, this.#random, options);
    return index === -1 ? undefined : targets[index];
  }
}
