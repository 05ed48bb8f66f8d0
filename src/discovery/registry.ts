/**
 * @module discovery/registry
 * Targets from the gateway's service registry: a watch on one registry service, whose
 * instances that are up, speak the service's protocol and pass the filters (tags, a semver
 * range, zone, metadata) become targets with their tags, version, zone and metadata. The
 * watch tells each change as it happens (no polling), and only changes of this service.
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

/** A service's targets from a registry service's instances. */
export class RegistrySource implements DiscoverySource {
  readonly #store: RegistryStore;
  readonly #filters: RegistryDiscoveryConfig;
  readonly #protocol: InstanceProtocol;
  /** The instances that pass the filters, up or down, by id. */
  readonly #matching = new Map<string, InstanceView>();
  #stopWatch: (() => void) | undefined;
  #last: DiscoveredTarget[] | undefined;

  /** `protocol`: the gateway service's, which an instance must speak to be a target. */
  constructor(store: RegistryStore, filters: RegistryDiscoveryConfig, protocol: InstanceProtocol) {
    this.#store = store;
    this.#filters = filters;
    this.#protocol = protocol;
  }

  /** Watches the registry service: `onTargets` hears the set at once, then each new one. */
  start(onTargets: (targets: DiscoveredTarget[]) => void): void {
    this.stop();
    this.#stopWatch = this.#store.watch(this.#filters.service, (event) => {
      if (this.#apply(event)) onTargets(this.#last!.map((target) => ({ ...target })));
    });
  }

  stop(): void {
    this.#stopWatch?.();
    this.#stopWatch = undefined;
    this.#matching.clear();
    this.#last = undefined;
  }

  /** Takes in one event; true when the target set changed (or is the first). */
  #apply(event: RegistryEvent): boolean {
    switch (event.type) {
      case "snapshot":
        this.#matching.clear();
        for (const instance of event.instances) this.#take(instance);
        break;
      case "put":
        this.#matching.delete(event.instance.id);
        this.#take(event.instance);
        break;
      case "down": {
        const instance = this.#matching.get(event.id);
        if (!instance) return false;
        this.#matching.set(event.id, { ...instance, state: "down" });
        break;
      }
      case "delete":
        if (!this.#matching.delete(event.id)) return false;
        break;
    }
    const targets = normalizeTargets(
      [...this.#matching.values()].filter((instance) => instance.state === "up").map(targetOf),
    );
    const first = this.#last === undefined;
    if (!first && sameTargets(targets, this.#last)) return false;
    this.#last = targets;
    return true;
  }

  #take(instance: InstanceView): void {
    if (instance.protocol !== this.#protocol || !matchesFilters(instance, this.#filters)) return;
    this.#matching.set(instance.id, instance);
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
