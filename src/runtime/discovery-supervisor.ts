/**
 * @module runtime/discovery-supervisor
 * Runs the discovery source of every service that has one. A source whose config is
 * unchanged across a reload keeps running (it does not resolve again); each answer that
 * changes the target set replaces the service's targets, keeping the state of targets
 * that stay.
 */
import { DnsSource } from "../discovery/dns.ts";
import type { DiscoveredTarget, DiscoverySource } from "../discovery/source.ts";
import type { Service } from "../upstream/service.ts";
import type { Runtime } from "./runtime.ts";
import type { TargetRegistry } from "./target-registry.ts";

interface Running {
  configKey: string;
  source: DiscoverySource;
  /** The service of the current runtime: a reload points the running source at the new one. */
  service: Service;
}

/** Owns the discovery sources of the current runtime. */
export class DiscoverySupervisor {
  readonly #running = new Map<string, Running>();
  readonly #registry: TargetRegistry;
  readonly #onTargets: (service: Service) => void;

  /** `onTargets` runs after a service's targets changed (to sync health checks, drop old targets). */
  constructor(registry: TargetRegistry, onTargets: (service: Service) => void) {
    this.#registry = registry;
    this.#onTargets = onTargets;
  }

  /** Makes the running sources match `runtime`. */
  apply(runtime: Runtime): void {
    const seen = new Set<string>();
    for (const service of runtime.services.values()) {
      const discovery = service.config.discovery;
      if (!discovery) continue;
      seen.add(service.name);
      const configKey = JSON.stringify(discovery);
      const running = this.#running.get(service.name);
      if (running?.configKey === configKey) {
        running.service = service;
        continue;
      }
      running?.source.stop();
      const entry: Running = {
        configKey,
        source: new DnsSource(discovery.dns, { servers: discovery.dns.servers }),
        service,
      };
      this.#running.set(service.name, entry);
      entry.source.start((found) => this.#update(entry, found));
    }
    for (const [name, running] of this.#running) {
      if (seen.has(name)) continue;
      running.source.stop();
      this.#running.delete(name);
    }
  }

  #update(entry: Running, found: DiscoveredTarget[]): void {
    if (this.#running.get(entry.service.name) !== entry) return;
    entry.service.setTargets(found, this.#registry);
    this.#onTargets(entry.service);
  }

  /** Stops every source. */
  close(): void {
    for (const running of this.#running.values()) running.source.stop();
    this.#running.clear();
  }
}
