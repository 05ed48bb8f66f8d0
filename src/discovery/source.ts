/**
 * @module discovery/source
 * The one contract every discovery source implements (static, dns, registry; kubernetes
 * later): it tells the runtime a service's whole target set, again each time that set
 * changes, and never when it did not.
 */
import type { TargetHealthCheck } from "../upstream/target.ts";

/** One instance a source found. */
export interface DiscoveredTarget {
  /** `scheme://host:port`, the target's identity. */
  url: string;
  /** Relative share of traffic, at least 1. */
  weight: number;
  /** What the source knows of the instance (the registry's), kept on the target. */
  zone?: string;
  version?: string;
  tags?: readonly string[];
  metadata?: Readonly<Record<string, string>>;
  /** Where the instance asks to be probed (a registry instance's `healthCheck`). */
  healthCheck?: TargetHealthCheck;
}

/**
 * Where a service's targets come from. `start` calls `onTargets` with the full set, first
 * as soon as it is known, then whenever it changes (compared as a set: order does not
 * count). A source that cannot reach its backend keeps quiet, so the last set stands.
 * The set and its entries are for reading: a source may hand an entry that did not change
 * on again as the same object.
 * After `stop`, `onTargets` is never called again.
 */
export interface DiscoverySource {
  start(onTargets: (targets: readonly DiscoveredTarget[]) => void): void;
  stop(): void;
}

/**
 * Sorted by URL, duplicates merged (their weights added, the first one's labels kept): the
 * form sources compare and emit.
 */
export function normalizeTargets(targets: Iterable<DiscoveredTarget>): DiscoveredTarget[] {
  const byUrl = new Map<string, DiscoveredTarget>();
  for (const target of targets) {
    const known = byUrl.get(target.url);
    if (known) known.weight += target.weight;
    else byUrl.set(target.url, { ...target });
  }
  return [...byUrl.values()].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
}

/** Whether two normalized sets hold the same targets with the same weights. */
export function sameTargets(
  a: readonly DiscoveredTarget[] | undefined,
  b: readonly DiscoveredTarget[] | undefined,
): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((target, i) => sameTarget(target, b[i]!));
}

/** Whether two targets are the same in every field a source tells. */
export function sameTarget(a: DiscoveredTarget, b: DiscoveredTarget): boolean {
  return (
    a.url === b.url &&
    a.weight === b.weight &&
    a.zone === b.zone &&
    a.version === b.version &&
    sameList(a.tags ?? [], b.tags ?? []) &&
    sameList(Object.entries(a.metadata ?? {}).flat(), Object.entries(b.metadata ?? {}).flat()) &&
    a.healthCheck?.path === b.healthCheck?.path &&
    a.healthCheck?.intervalMs === b.healthCheck?.intervalMs
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}
