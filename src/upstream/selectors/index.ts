/**
 * @module upstream/selectors
 * The selector for each `loadBalancer.algorithm` name.
 */
import type { z } from "zod";
import type { algorithms, loadBalancerSchema } from "../../config/schema/upstream.ts";
import { ConsistentHashSelector } from "./consistent-hash.ts";
import { LeastConnectionsSelector } from "./least-connections.ts";
import { LeastResponseTimeSelector } from "./least-response-time.ts";
import { PowerOfTwoSelector } from "./power-of-two.ts";
import { RandomSelector } from "./random.ts";
import { RoundRobinSelector } from "./round-robin.ts";
import type { RandomSource, Selector } from "./selector.ts";
import { WeightedRandomSelector } from "./weighted-random.ts";
import { WeightedRoundRobinSelector } from "./weighted-round-robin.ts";

export type {
  RandomSource,
  SelectionOptions,
  SelectionRequest,
  Selector,
} from "./selector.ts";

/** What of a service's validated `loadBalancer` config the selector is built from. */
export type LoadBalancerConfig = Omit<z.output<typeof loadBalancerSchema>, "zoneAware">;
export type Algorithm = (typeof algorithms)[number];

/** What a selector may be given besides its config. */
export interface SelectorDependencies {
  /** For the random algorithms; default `Math.random`. */
  random?: RandomSource;
}

type Factory = (config: LoadBalancerConfig, dependencies: SelectorDependencies) => Selector;

const factories: Record<Algorithm, Factory> = {
  "round-robin": () => new RoundRobinSelector(),
  "weighted-round-robin": () => new WeightedRoundRobinSelector(),
  random: (_, { random }) => new RandomSelector(random),
  "weighted-random": (_, { random }) => new WeightedRandomSelector(random),
  "least-connections": () => new LeastConnectionsSelector(),
  "least-response-time": () => new LeastResponseTimeSelector(),
  "power-of-two": (_, { random }) => new PowerOfTwoSelector(random),
  "consistent-hash": (config) => new ConsistentHashSelector(config.hashOn),
};

/** A new selector for a service's `loadBalancer` config; one per service, as it keeps state. */
export function createSelector(
  config: LoadBalancerConfig,
  dependencies: SelectorDependencies = {},
): Selector {
  const factory = factories[config.algorithm];
  if (!factory) throw new Error(`unknown load-balancing algorithm "${config.algorithm}"`);
  return factory(config, dependencies);
}
