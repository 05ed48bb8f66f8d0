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
import {
  type DiscoveredTarget,
  type DiscoverySource,
  normalizeTargets,
  sameTargets,
} from "./source.ts";

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
  #stopWatch: (() => void) | undefined;
  #onTargets: ((targets: DiscoveredTarget[]) => void) | undefined;
  #last: DiscoveredTarget[] | undefined;
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

  /** Watches the registry service: `onTargets` hears the set at once, then each new one. */
  start(onTargets: (targets: DiscoveredTarget[]) => void): void {
    this.stop();
    this.#onTargets = onTargets;
    this.#stopWatch = this.#store.watch(this.#filters.service, (event) => {
      if (!this.#apply(event)) return;
      // The first set is told at once: the service has it before the gateway serves.
      if (this.#last === undefined) this.#tell();
      else if (!this.#pending) {
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
    this.#last = undefined;
  }

  /** Tells the target set, unless it is the one told last (or the source stopped). */
  #tell(): void {
    this.#pending = false;
    if (!this.#onTargets) return;
    const targets = normalizeTargets(
      [...this.#matching.values()].filter((instance) => instance.state === "up").map(targetOf),
    );
    if (this.#last !== undefined && sameTargets(targets, this.#last)) return;
    this.#last = targets;
    this.#onTargets(targets.map((target) => ({ ...target })));
  }

  /** Takes in one event; false when it changed none of the instances that count. */
  #apply(event: RegistryEvent): boolean {
    switch (event.type) {
      case "snapshot":
        this.#matching.clear();
        for (const instance of event.instances) this.#take(instance);
        return true;
      case "put": {
        const had = this.#matching.delete(event.instance.id);
        return this.#take(event.instance) || had;
      }
      case "down": {
        const instance = this.#matching.get(event.id);
        if (!instance) return false;
        this.#matching.set(event.id, { ...instance, state: "down" });
        return true;
      }
      case "delete":
        return this.#matching.delete(event.id);
    }
  }

  /** Keeps `instance` if it counts; true when it does. */
  #take(instance: InstanceView): boolean {
    if (instance.protocol !== this.#protocol || !matchesFilters(instance, this.#filters))
      return false;
    this.#matching.set(instance.id, instance);
    return true;
  }
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
