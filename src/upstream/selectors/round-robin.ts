/**
 * @module upstream/selectors/round-robin
 * Each target in turn, skipping those that are not available.
 */
import type { Target } from "../target.ts";
import {
  admissible,
  type SelectionOptions,
  type SelectionRequest,
  type Selector,
} from "./selector.ts";

/** Cycles through the targets in order; weights are ignored (see weighted-round-robin). */
export class RoundRobinSelector implements Selector {
  #next = 0;

  select(
    targets: readonly Target[],
    _request: SelectionRequest,
    options?: SelectionOptions,
  ): Target | undefined {
    const count = targets.length;
    for (let tried = 0; tried < count; tried++) {
      const index = this.#next++ % count;
      if (this.#next >= Number.MAX_SAFE_INTEGER) this.#next = 0;
      const target = targets[index]!;
      if (admissible(target, options)) return target;
    }
    return undefined;
  }
}
