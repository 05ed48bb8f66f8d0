/**
 * @module discovery/static
 * Targets listed in the config: one set, emitted once at start.
 */
import { type DiscoveredTarget, type DiscoverySource, normalizeTargets } from "./source.ts";

/** A service's `targets`, as a discovery source. */
export class StaticSource implements DiscoverySource {
  readonly #targets: readonly DiscoveredTarget[];

  constructor(targets: readonly DiscoveredTarget[]) {
    this.#targets = normalizeTargets(targets);
  }

  /** Calls `onTargets` once, synchronously, with the configured set. */
  start(onTargets: (targets: DiscoveredTarget[]) => void): void {
    onTargets(this.#targets.map((target) => ({ ...target })));
  }

  stop(): void {}
}
