/**
 * @module discovery/registry
 * Targets from the gateway's service registry: a watch on one registry service, whose
 * instances that are up, speak the service's protocol and pass the filters (tags, a semver
 * range, zone, metadata) become targets with their tags, version, zone and metadata. The
 * watch tells each change as it happens (no polling), and only changes of this service;
 * changes that arrive together are told as one new target set.
 */
import semver from "semver";
import type { z } from "zod";
import type { registryDiscoverySchema } from "../config/schema/registry.ts";
import { parseDuration } from "../config/units.ts";
import type { InstanceProtocol, InstanceView } from "../registry/instance.ts";
import type { RegistryEvent, RegistryStore } from "../registry/store.ts";
import { type DiscoveredTarget, type DiscoverySource, sameTarget } from "./source.ts";

/** `discovery.registry` as parsed. */
export type RegistryDiscoveryConfig = z.output<typeof registryDiscoverySchema>;

/** Whether an instance passes a service's filters (its state and protocol aside). */
export function matchesFilters(instance: InstanceView, filters: RegistryDiscoveryConfig): boolean {
  if (filters.zone !== undefined && instance.zone !== filters.zone) return false;
  for (const tag of filters.tags) if (!instance.tags.includes(tag)) return false;
  for (const [key, value] of Object.entries(filters.metadata))
    if (instance.metadata[key] !== value) return false;
  if (filters.version !== undefined) {
    if (instance.version === undefined) return false;
    if (!semver.satisfies(instance.version, filters.version, { includePrerelease: true }))
      return false;
  }
  return true;
}

export interface RegistrySourceOptions {
  /**
   * Runs the work of telling a change later (default `setImmediate`): changes that arrive
   * together (a burst of registrations read in one turn of the event loop) make one target
   * set, not one each. Still before the next request is read.
   */
  defer?: (work: () => void) => void;
}

/** A service's targets from a registry service's instances. */
export class RegistrySource implements DiscoverySource {
  readonly #store: RegistryStore;
  readonly #filters: RegistryDiscoveryConfig;
  readonly #protocol: InstanceProtocol;
  readonly #defer: (work: () => void) => void;
  /** The instances that pass the filters, up or down, by id. */
  readonly #matching = new Map<string, InstanceView>();
  /** The ids of the up instances at each URL, first come first: one target per URL. */
  readonly #upAt = new Map<string, Set<string>>();
  /** The target at each URL, as last told: kept as the same object while it does not change. */
  readonly #targets = new Map<string, DiscoveredTarget>();
  /** URLs whose target may have changed since the last tell. */
  readonly #dirty = new Set<string>();
  #stopWatch: (() => void) | undefined;
  #onTargets: ((targets: readonly DiscoveredTarget[]) => void) | undefined;
  /** The set told last, sorted by URL (undefined before the first). */
  #last: readonly DiscoveredTarget[] | undefined;
  #pending = false;

  /** `protocol`: the gateway service's, which an instance must speak to be a target. */
  constructor(
    store: RegistryStore,
    filters: RegistryDiscoveryConfig,
    protocol: InstanceProtocol,
    options: RegistrySourceOptions = {},
  ) {
    this.#store = store;
    this.#filters = filters;
    this.#protocol = protocol;
    this.#defer = options.defer ?? setImmediate;
  }

  /**
   * Watches the registry service: `onTargets` hears the set at once, then each new one. A
   * target that did not change is the same object in the next set, so a change to one
   * instance costs its receiver one new target, however many there are.
   */
  start(onTargets: (targets: readonly DiscoveredTarget[]) => void): void {
    this.stop();
    this.#onTargets = onTargets;
    this.#stopWatch = this.#store.watch(this.#filters.service, (event) => {
      this.#apply(event);
      // The first set is told at once: the service has it before the gateway serves.
      if (this.#last === undefined) this.#tell();
      else if (this.#dirty.size > 0 && !this.#pending) {
        this.#pending = true;
        this.#defer(() => this.#tell());
      }
    });
  }

  stop(): void {
    this.#stopWatch?.();
    this.#stopWatch = undefined;
    this.#onTargets = undefined;
    this.#matching.clear();
    this.#upAt.clear();
    this.#targets.clear();
    this.#dirty.clear();
    this.#last = undefined;
  }

  /**
   * Tells the target set, unless no target in it changed since the set told last (or the
   * source stopped). Only the URLs that changed are looked at again.
   */
  #tell(): void {
    this.#pending = false;
    if (!this.#onTargets) return;
    const last = this.#last;
    const changed: string[] = [];
    for (const url of this.#dirty) {
      const before = this.#targets.get(url);
      const after = this.#targetAt(url);
      if (after === undefined) {
        if (before === undefined) continue;
        this.#targets.delete(url);
      } else {
        if (before !== undefined && sameTarget(before, after)) continue;
        this.#targets.set(url, after);
      }
      changed.push(url);
    }
    this.#dirty.clear();
    if (last !== undefined && changed.length === 0) return;
    const targets =
      last === undefined || changed.length > 16
        ? [...this.#targets.values()].sort(byUrl)
        : patched(last, changed, this.#targets);
    this.#last = targets;
    this.#onTargets(targets);
  }

  /** The target the up instances at `url` make (their weights added, the first one's labels). */
  #targetAt(url: string): DiscoveredTarget | undefined {
    const ids = this.#upAt.get(url);
    if (ids === undefined) return undefined;
    let target: DiscoveredTarget | undefined;
    for (const id of ids) {
      const instance = this.#matching.get(id)!;
      if (target === undefined) target = targetOf(instance);
      else target.weight += instance.weight;
    }
    return target;
  }

  /** Takes in one event, marking the URLs whose target it may change. */
  #apply(event: RegistryEvent): void {
    switch (event.type) {
      case "snapshot":
        for (const url of this.#targets.keys()) this.#dirty.add(url);
        this.#matching.clear();
        this.#upAt.clear();
        for (const instance of event.instances) this.#take(instance);
        return;
      case "put":
        this.#drop(event.instance.id);
        this.#take(event.instance);
        return;
      case "down": {
        const instance = this.#matching.get(event.id);
        if (instance?.state !== "up") return;
        this.#leaveUrl(instance);
        this.#matching.set(event.id, { ...instance, state: "down" });
        return;
      }
      case "delete":
        this.#drop(event.id);
        return;
    }
  }

  /** Keeps `instance` if it counts. */
  #take(instance: InstanceView): void {
    if (instance.protocol !== this.#protocol || !matchesFilters(instance, this.#filters)) return;
    this.#matching.set(instance.id, instance);
    if (instance.state !== "up") return;
    let ids = this.#upAt.get(instance.url);
    if (!ids) {
      ids = new Set();
      this.#upAt.set(instance.url, ids);
    }
    ids.add(instance.id);
    this.#dirty.add(instance.url);
  }

  /** Forgets the instance with this id, if it counted. */
  #drop(id: string): void {
    const instance = this.#matching.get(id);
    if (!instance) return;
    this.#matching.delete(id);
    if (instance.state === "up") this.#leaveUrl(instance);
  }

  #leaveUrl(instance: InstanceView): void {
    const ids = this.#upAt.get(instance.url);
    if (!ids?.delete(instance.id)) return;
    if (ids.size === 0) this.#upAt.delete(instance.url);
    this.#dirty.add(instance.url);
  }
}

const byUrl = (a: DiscoveredTarget, b: DiscoveredTarget) =>
  a.url < b.url ? -1 : a.url > b.url ? 1 : 0;

/**
 * `last` (sorted by URL) with the targets at `changed` URLs replaced, added or removed as
 * `targets` now has them: a new array, the other entries the same objects.
 */
function patched(
  last: readonly DiscoveredTarget[],
  changed: readonly string[],
  targets: ReadonlyMap<string, DiscoveredTarget>,
): readonly DiscoveredTarget[] {
  // Copied once, by the first change (toSpliced copies fastest), then changed in place.
  let next: DiscoveredTarget[] | undefined;
  for (const url of changed) {
    const list = next ?? last;
    // The first index whose URL is not before `url`.
    let low = 0;
    let high = list.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (list[middle]!.url < url) low = middle + 1;
      else high = middle;
    }
    const target = targets.get(url);
    const present = list[low]?.url === url ? 1 : 0;
    const put = target === undefined ? [] : [target];
    if (next === undefined) next = last.toSpliced(low, present, ...put);
    else next.splice(low, present, ...put);
  }
  return next ?? last;
}

function targetOf(instance: InstanceView): DiscoveredTarget {
  return {
    url: instance.url,
    weight: instance.weight,
    ...(instance.zone !== undefined && { zone: instance.zone }),
    ...(instance.version !== undefined && { version: instance.version }),
    tags: instance.tags,
    metadata: instance.metadata,
    ...(instance.healthCheck && {
      healthCheck: {
        path: instance.healthCheck.path,
        ...(instance.healthCheck.interval !== undefined && {
          intervalMs: parseDuration(instance.healthCheck.interval),
        }),
      },
    }),
  };
}
