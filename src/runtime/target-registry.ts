/**
 * @module runtime/target-registry
 * Targets keyed by identity (service, origin and connect timeout), so a target that
 * appears in consecutive configs keeps its pool and its state (health, ejections,
 * breaker, latency, in-flight count), and one that disappears is closed at once.
 * Subscribers hear each target added and removed, and each transition of a target's
 * state (health, breaker, ejection): thread sync (runtime/target-sync) is one.
 */
import { CircuitBreaker, type CircuitBreakerConfig } from "../upstream/breaker.ts";
import type { TargetPool, TargetSpec } from "../upstream/service.ts";
import { Target, type TargetTransition, targetIdentity } from "../upstream/target.ts";

/** What the registry tells its subscribers. */
export type TargetEvent =
  | { type: "added"; target: Target }
  | { type: "removed"; target: Target }
  | { type: "changed"; target: Target; transition: TargetTransition };

export type TargetListener = (event: TargetEvent) => void;

/** Owns every Target the gateway has created. */
export class TargetRegistry implements TargetPool {
  /** By identity (targetIdentity). */
  readonly #targets = new Map<string, Target>();
  /** The breaker config each target's breaker was built from. */
  readonly #breakerConfigs = new WeakMap<Target, string | undefined>();
  readonly #listeners = new Set<TargetListener>();

  /**
   * The target for a spec, reusing the existing one when its identity matches; weight,
   * zone, version, tags, metadata, the health check it asks for and limits are updated in place (they are not part of
   * its identity).
   */
  acquire(spec: TargetSpec): Target {
    const identity = targetIdentity(spec);
    let target = this.#targets.get(identity);
    if (!target) {
      target = new Target({ ...spec, onTransition: this.#transitioned });
      target.health = spec.initialHealth ?? "healthy";
      this.#targets.set(identity, target);
      this.#emit({ type: "added", target });
    }
    target.weight = spec.weight;
    target.zone = spec.zone;
    target.version = spec.version;
    target.tags = spec.tags ?? [];
    target.metadata = spec.metadata ?? {};
    target.healthCheck = spec.healthCheck;
    target.maxConnections = spec.maxConnections;
    this.#configureBreaker(target, spec.circuitBreaker);
    return target;
  }

  /** The target with this identity (Target.identity), if the registry holds one. */
  get(identity: string): Target | undefined {
    return this.#targets.get(identity);
  }

  /** Every target the registry holds. */
  values(): IterableIterator<Target> {
    return this.#targets.values();
  }

  /** Calls `listener` with every event from now on; returns the function that stops it. */
  subscribe(listener: TargetListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Gives the target a breaker for this config: kept while the config is unchanged. */
  #configureBreaker(target: Target, config: CircuitBreakerConfig | undefined): void {
    const key = config ? JSON.stringify(config) : undefined;
    if (this.#breakerConfigs.get(target) === key) return;
    this.#breakerConfigs.set(target, key);
    target.breaker = config ? new CircuitBreaker(config, target.clock, target) : undefined;
  }

  /**
   * Forgets every target not in `keep` and closes it gracefully: requests already sent to
   * it finish; it takes no new ones. Returns the targets it let go.
   */
  retainOnly(keep: ReadonlySet<Target>): Target[] {
    const dropped: Target[] = [];
    for (const [identity, target] of this.#targets) {
      if (keep.has(target)) continue;
      this.#targets.delete(identity);
      dropped.push(target);
    }
    for (const target of dropped) {
      this.#emit({ type: "removed", target });
      void target.close().catch(() => {});
    }
    return dropped;
  }

  /**
   * Forgets `targets` and closes each gracefully (see retainOnly): one service's targets
   * that its new listing left out, without looking at any other service's.
   */
  release(targets: Iterable<Target>): void {
    for (const target of targets) {
      if (this.#targets.get(target.identity) !== target) continue;
      this.#targets.delete(target.identity);
      this.#emit({ type: "removed", target });
      void target.close().catch(() => {});
    }
  }

  /** Closes every target at once, aborting what is in flight (shutdown's last step). */
  async destroyAll(): Promise<void> {
    const all = [...this.#targets.values()];
    this.#targets.clear();
    for (const target of all) this.#emit({ type: "removed", target });
    await Promise.all(all.map((target) => target.destroy()));
  }

  /**
   * A target's state moved. One the registry let go of (its requests still finishing)
   * is no longer part of the node's view: its late transitions are not told.
   */
  readonly #transitioned = (target: Target, transition: TargetTransition): void => {
    if (this.#targets.get(target.identity) !== target) return;
    this.#emit({ type: "changed", target, transition });
  };

  #emit(event: TargetEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}
