/**
 * @module discovery/source
 * The one contract every discovery source implements (static, dns; registry, etcd and
 * kubernetes later): it tells the runtime a service's whole target set, again each time
 * that set changes, and never when it did not.
 */

/** One instance a source found. */
export interface DiscoveredTarget {
  /** `scheme://host:port`, the target's identity. */
  url: string;
  /** Relative share of traffic, at least 1. */
  weight: number;
}

/**
 * Where a service's targets come from. `start` calls `onTargets` with the full set, first
 * as soon as it is known, then whenever it changes (compared as a set: order does not
 * count). A source that cannot reach its backend keeps quiet, so the last set stands.
 * After `stop`, `onTargets` is never called again.
 */
export interface DiscoverySource {
  start(onTargets: (targets: DiscoveredTarget[]) => void): void;
  stop(): void;
}

/** Sorted by URL, duplicates merged (their weights added): the form sources compare and emit. */
export function normalizeTargets(targets: Iterable<DiscoveredTarget>): DiscoveredTarget[] {
  const weights = new Map<string, number>();
  for (const { url, weight } of targets) weights.set(url, (weights.get(url) ?? 0) + weight);
  return [...weights]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([url, weight]) => ({ url, weight }));
}

/** Whether two normalized sets hold the same targets with the same weights. */
export function sameTargets(
  a: readonly DiscoveredTarget[] | undefined,
  b: readonly DiscoveredTarget[] | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.length === b.length &&
    a.every((target, i) => target.url === b[i]!.url && target.weight === b[i]!.weight)
  );
}
