/**
 * @module runtime/target-registry
 * Targets keyed by identity (service, origin and connect timeout), so a target that
 * appears in consecutive configs keeps its pool and its state (health, ejections,
 * breaker, latency, in-flight count), and one that disappears is closed at once.
 */
import { CircuitBreaker, type CircuitBreakerConfig } from "../upstream/breaker.ts";
import type { TargetPool, TargetSpec } from "../upstream/service.ts";
import { Target } from "../upstream/target.ts";

/** Owns every Target the gateway has created. */
export class TargetRegistry implements TargetPool {
  readonly #targets = new Map<string, Target>();
  /** The breaker config each target's breaker was built from. */
  readonly #breakerConfigs = new WeakMap<Target, string | undefined>();
  /** The service each target belongs to (part of its identity). */
  readonly #services = new WeakMap<Target, string>();

  /**
   * The target for a spec, reusing the existing one when its identity matches; weight,
   * zone, metadata and limits are updated in place (they are not part of its identity).
   */
  acquire(spec: TargetSpec): Target {
    const key = `${spec.service}|${new URL(spec.url).origin}|${spec.connectTimeout}`;
    let target = this.#targets.get(key);
    if (!target) {
      target = new Target(spec);
      target.health = spec.initialHealth ?? "healthy";
      this.#targets.set(key, target);
      this.#services.set(target, spec.service);
    }
    target.weight = spec.weight;
    target.zone = spec.zone;
    target.metadata = spec.metadata ?? {};
    target.maxConnections = spec.maxConnections;
    this.#configureBreaker(target, spec.circuitBreaker);
    return target;
  }

  /** Every target, with the service it belongs to. */
  *entries(): Generator<[service: string, target: Target]> {
    for (const target of this.#targets.values()) yield [this.#services.get(target)!, target];
  }

  /** Gives the target a breaker for this config: kept while the config is unchanged. */
  #configureBreaker(target: Target, config: CircuitBreakerConfig | undefined): void {
    const key = config ? JSON.stringify(config) : undefined;
    if (this.#breakerConfigs.get(target) === key) return;
    this.#breakerConfigs.set(target, key);
    target.breaker = config
      ? new CircuitBreaker(config, target.clock, target.url, target.service)
      : undefined;
  }

  /**
   * Forgets every target not in `keep` and closes it gracefully: requests already sent to
   * it finish; it takes no new ones. Returns the targets it let go.
   */
  retainOnly(keep: ReadonlySet<Target>): Target[] {
    const dropped: Target[] = [];
    for (const [key, target] of this.#targets) {
      if (keep.has(target)) continue;
      this.#targets.delete(key);
      dropped.push(target);
    }
    for (const target of dropped) void target.close().catch(() => {});
    return dropped;
  }

  /** Closes every target at once, aborting what is in flight (shutdown's last step). */
  async destroyAll(): Promise<void> {
    const all = [...this.#targets.values()];
    this.#targets.clear();
    await Promise.all(all.map((target) => target.destroy()));
  }
}
