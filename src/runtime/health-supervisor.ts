/**
 * @module runtime/health-supervisor
 * Runs the active health checkers of the current runtime. Across reloads a service whose
 * `healthCheck.active` is unchanged keeps its checker, so unchanged targets keep their
 * probe counters and schedule; added targets start being probed, removed targets stop at
 * once (no zombie checks), and a service that drops active checks has its targets
 * judged healthy again. A target that asks for a probe of its own (a registry instance's
 * `healthCheck`) gets it on top: the service's check at its path and interval.
 */

import { defaultActiveCheck } from "../config/schema/upstream.ts";
import type { HealthProbeObserver } from "../observability/health-check-metrics.ts";
import { type Clock, systemClock } from "../upstream/clock.ts";
import { type ActiveCheckConfig, ActiveHealthChecker } from "../upstream/health/active.ts";
import type { Service, TargetChanges } from "../upstream/service.ts";
import { type Target, type TargetHealthCheck, tlsOptionsOf } from "../upstream/target.ts";
import type { Runtime } from "./runtime.ts";

interface Supervised {
  configKey: string;
  checker: ActiveHealthChecker;
}

/**
 * The check a target gets: its service's `healthCheck.active`, at the path and interval
 * the target asks for when it asks (a registry instance's `healthCheck`; probed with the
 * defaults when the service configures none). A path means nothing to a tcp or grpc probe.
 */
export function checkFor(
  active: ActiveCheckConfig | undefined,
  asked: TargetHealthCheck | undefined,
): ActiveCheckConfig | undefined {
  if (!asked) return active;
  const base = active ?? defaultActiveCheck;
  if (base.type !== "http" && base.type !== "https") return base;
  return {
    ...base,
    path: asked.path,
    ...(asked.intervalMs !== undefined && { interval: asked.intervalMs }),
  };
}

/**
 * What sets a target's check apart within its service (undefined: it has none): the
 * service's check, and the path and interval the target asks for. Built without
 * serialising per target, which a service of thousands would pay per change.
 */
function checkKeyFor(service: Service): (target: Target) => string | undefined {
  const { active } = service.config.healthCheck;
  const serviceKey = JSON.stringify([active, service.config.tls]);
  // Only an HTTP probe has a path for a target to choose (checkFor).
  const { type } = active ?? defaultActiveCheck;
  const pathed = type === "http" || type === "https";
  return (target) => {
    const asked = target.healthCheck;
    if (!asked) return active ? serviceKey : undefined;
    return pathed ? `${serviceKey}|${asked.path}|${asked.intervalMs ?? ""}` : serviceKey;
  };
}

/** Owns the active health checkers: one per service and check config its targets get. */
export class HealthSupervisor {
  /** By service, then by check config. */
  readonly #checkers = new Map<string, Map<string, Supervised>>();
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
    for (const service of runtime.services.values()) this.syncService(service);
    for (const [name, checkers] of this.#checkers) {
      if (runtime.services.has(name)) continue;
      for (const supervised of checkers.values()) supervised.checker.close();
      this.#checkers.delete(name);
    }
  }

  /**
   * Probes exactly this service's current targets, each with its check (after a reload, or
   * discovery changed them). A target nothing checks any more is healthy unless something
   * else says.
   */
  syncService(service: Service): void {
    const groups = new Map<string, { config: ActiveCheckConfig; targets: Target[] }>();
    const checkKey = checkKeyFor(service);
    for (const target of service.targets) {
      const key = checkKey(target);
      if (key === undefined) {
        target.health = "healthy";
        continue;
      }
      let group = groups.get(key);
      if (!group) {
        group = {
          config: checkFor(service.config.healthCheck.active, target.healthCheck)!,
          targets: [],
        };
        groups.set(key, group);
      }
      group.targets.push(target);
    }
    const checkers = this.#checkers.get(service.name) ?? new Map<string, Supervised>();
    for (const [configKey, supervised] of checkers) {
      if (groups.has(configKey)) continue;
      supervised.checker.close();
      checkers.delete(configKey);
    }
    for (const [configKey, { config, targets }] of groups) {
      this.#supervised(service, checkers, configKey, config).checker.sync(targets);
    }
    if (checkers.size > 0) this.#checkers.set(service.name, checkers);
    else this.#checkers.delete(service.name);
  }

  /**
   * Follows one change of a service's targets (a discovery answer, after `syncService` saw
   * the service whole): the removed stop being probed, the added start with their check,
   * and the others are not looked at, however many there are.
   */
  syncChanges(service: Service, { added, removed }: TargetChanges): void {
    const checkers = this.#checkers.get(service.name) ?? new Map<string, Supervised>();
    for (const target of removed)
      for (const supervised of checkers.values()) supervised.checker.unwatch(target);
    const checkKey = checkKeyFor(service);
    for (const target of added) {
      const key = checkKey(target);
      // A known target whose check changed leaves its old one.
      for (const [configKey, supervised] of checkers)
        if (configKey !== key) supervised.checker.unwatch(target);
      if (key === undefined) {
        target.health = "healthy";
        continue;
      }
      const config = checkFor(service.config.healthCheck.active, target.healthCheck)!;
      this.#supervised(service, checkers, key, config).checker.watch(target);
    }
    for (const [configKey, supervised] of checkers) {
      if (supervised.checker.watching > 0) continue;
      supervised.checker.close();
      checkers.delete(configKey);
    }
    if (checkers.size > 0) this.#checkers.set(service.name, checkers);
    else this.#checkers.delete(service.name);
  }

  /** The service's checker for `configKey`, made when it has none. */
  #supervised(
    service: Service,
    checkers: Map<string, Supervised>,
    configKey: string,
    config: ActiveCheckConfig,
  ): Supervised {
    let supervised = checkers.get(configKey);
    if (!supervised) {
      supervised = { configKey, checker: this.#checker(service, config) };
      checkers.set(configKey, supervised);
    }
    return supervised;
  }

  #checker(service: Service, config: ActiveCheckConfig): ActiveHealthChecker {
    const probes = this.#probes;
    const name = service.name;
    const tls = tlsOptionsOf(service.config.tls);
    return new ActiveHealthChecker(config, this.#clock, {
      ...(service.config.tls && { tls }),
      onProbe: probes && ((target, result) => probes.probed(name, config.type, target.url, result)),
    });
  }

  /** Stops every probe. */
  close(): void {
    for (const checkers of this.#checkers.values())
      for (const supervised of checkers.values()) supervised.checker.close();
    this.#checkers.clear();
  }
}
