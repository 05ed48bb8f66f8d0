/**
 * @module runtime/health-supervisor
 * Runs the active health checkers of the current runtime. Across reloads a service whose
 * `healthCheck.active` is unchanged keeps its checker, so unchanged targets keep their
 * probe counters and schedule; added targets start being probed, removed targets stop at
 * once (no zombie checks), and a service that drops active checks has its targets
 * judged healthy again.
 */

import type { HealthProbeObserver } from "../observability/health-check-metrics.ts";
import { type Clock, systemClock } from "../upstream/clock.ts";
import { ActiveHealthChecker } from "../upstream/health/active.ts";
import type { Service } from "../upstream/service.ts";
import { tlsOptionsOf } from "../upstream/target.ts";
import type { Runtime } from "./runtime.ts";

interface Supervised {
  configKey: string;
  checker: ActiveHealthChecker;
}

/** Owns one active health checker per service that configures one. */
export class HealthSupervisor {
  readonly #checkers = new Map<string, Supervised>();
  readonly #probes: HealthProbeObserver | undefined;
  readonly #clock: Clock;

  /**
   * `probes` hears every probe's result (the gateway's metrics, when on). A target that
   * probes move across tells its registry, which tells the workers (runtime/target-sync).
   */
  constructor(options: { probes?: HealthProbeObserver | undefined; clock?: Clock } = {}) {
    this.#probes = options.probes;
    this.#clock = options.clock ?? systemClock;
  }

  /** Makes the running checkers match `runtime`. */
  apply(runtime: Runtime): void {
    const seen = new Set<string>();
    for (const service of runtime.services.values()) {
      const active = service.config.healthCheck.active;
      if (!active) {
        // Nothing judges these targets any more: they are healthy unless something else says.
        for (const target of service.targets) target.health = "healthy";
        continue;
      }
      seen.add(service.name);
      const configKey = JSON.stringify([active, service.config.tls]);
      let supervised = this.#checkers.get(service.name);
      if (supervised?.configKey !== configKey) {
        supervised?.checker.close();
        const probes = this.#probes;
        const name = service.name;
        const tls = tlsOptionsOf(service.config.tls);
        const checker = new ActiveHealthChecker(active, this.#clock, {
          ...(service.config.tls && { tls }),
          onProbe:
            probes && ((target, result) => probes.probed(name, active.type, target.url, result)),
        });
        supervised = { configKey, checker };
        this.#checkers.set(service.name, supervised);
      }
      supervised.checker.sync(service.targets);
    }
    for (const [name, supervised] of this.#checkers) {
      if (seen.has(name)) continue;
      supervised.checker.close();
      this.#checkers.delete(name);
    }
  }

  /** Probes exactly this service's current targets (after discovery changed them). */
  syncService(service: Service): void {
    this.#checkers.get(service.name)?.checker.sync(service.targets);
  }

  /** Stops every probe. */
  close(): void {
    for (const supervised of this.#checkers.values()) supervised.checker.close();
    this.#checkers.clear();
  }
}
