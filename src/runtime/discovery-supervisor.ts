/**
 * @module runtime/discovery-supervisor
 * Runs the discovery source of every service that has one (DNS, or the gateway's service
 * registry). A source whose config is unchanged across a reload keeps running (it does not
 * resolve again); each answer that changes the target set is handed on (to the control
 * plane's door, which gives the service those targets, keeping the state of targets that
 * stay).
 */
import type { ServiceConfig } from "../config/schema/index.ts";
import { DnsSource } from "../discovery/dns.ts";
import { RegistrySource } from "../discovery/registry.ts";
import type { DiscoveredTarget, DiscoverySource } from "../discovery/source.ts";
import type { RegistryStore } from "../registry/store.ts";
import type { Runtime } from "./runtime.ts";

interface Running {
  service: string;
  configKey: string;
  source: DiscoverySource;
}

/** Where a service's discovered targets go. */
export type DiscoveredTargetsListener = (
  service: string,
  targets: readonly DiscoveredTarget[],
) => void;

/** Owns the discovery sources of the current runtime. */
export class DiscoverySupervisor {
  readonly #running = new Map<string, Running>();
  readonly #onTargets: DiscoveredTargetsListener;
  readonly #registry: RegistryStore | undefined;

  /** `registry`: the gateway's service registry, for services with `discovery.registry`. */
  constructor(onTargets: DiscoveredTargetsListener, registry?: RegistryStore) {
    this.#onTargets = onTargets;
    this.#registry = registry;
  }

  /** Makes the running sources match `runtime`. */
  apply(runtime: Runtime): void {
    const seen = new Set<string>();
    for (const service of runtime.services.values()) {
      const discovery = service.config.discovery;
      if (!discovery) continue;
      seen.add(service.name);
      // The protocol decides which registry instances are targets.
      const configKey = JSON.stringify([discovery, service.config.protocol]);
      const running = this.#running.get(service.name);
      if (running?.configKey === configKey) continue;
      running?.source.stop();
      const source = this.#sourceFor(service.config);
      if (!source) {
        this.#running.delete(service.name);
        continue;
      }
      const entry: Running = { service: service.name, configKey, source };
      this.#running.set(service.name, entry);
      entry.source.start((found) => this.#update(entry, found));
    }
    for (const [name, running] of this.#running) {
      if (seen.has(name)) continue;
      running.source.stop();
      this.#running.delete(name);
    }
  }

  #sourceFor(config: ServiceConfig): DiscoverySource | undefined {
    const { dns, registry } = config.discovery ?? {};
    if (dns) return new DnsSource(dns, { servers: dns.servers });
    // Validation makes sure a gateway with registry discovery has a registry.
    if (registry && this.#registry)
      return new RegistrySource(this.#registry, registry, config.protocol);
    return undefined;
  }

  #update(entry: Running, found: readonly DiscoveredTarget[]): void {
    if (this.#running.get(entry.service) !== entry) return;
    this.#onTargets(entry.service, found);
  }

  /** Stops every source. */
  close(): void {
    for (const running of this.#running.values()) running.source.stop();
    this.#running.clear();
  }
}
