/**
 * @module upstream/selectors
 * The selector for each `loadBalancer.algorithm` name.
 */
import { RoundRobinSelector } from "./round-robin.ts";
import type { Selector } from "./selector.ts";

export type { SelectionRequest, Selector } from "./selector.ts";

const factories: Record<string, () => Selector> = {
  "round-robin": () => new RoundRobinSelector(),
};

/** A new selector for an algorithm name the schema accepted. */
export function createSelector(algorithm: string): Selector {
  const factory = factories[algorithm];
  if (!factory) throw new Error(`unknown load-balancing algorithm "${algorithm}"`);
  return factory();
}
