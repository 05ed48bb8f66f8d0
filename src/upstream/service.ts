/**
 * @module upstream/service
 * A service as the request path uses it: its targets, the selector that picks one, and
 * what surrounds each try (timeouts, retry policy, panic threshold, outlier detection).
 * The compiler builds one per configured service (runtime/compile); requests call
 * `select()`; discovery and reloads call `setTargets()`.
 */

import type { ServiceConfig, TimeoutsConfig } from "../config/schema/index.ts";
import type { UpstreamTls } from "../config/schema/tls.ts";
import { defaultPassiveCheck } from "../config/schema/upstream.ts";
import type { CircuitBreakerConfig } from "./breaker.ts";
import { type Clock, systemClock } from "./clock.ts";
import { OutlierDetector } from "./health/outlier.ts";
import { PanicThreshold } from "./health/panic.ts";
import { RetryPolicy } from "./retry.ts";
import { createSelector } from "./selectors/index.ts";
import {
  admissible,
  type SelectionOptions,
  type SelectionRequest,
  type Selector,
} from "./selectors/selector.ts";
import type { Target, TargetHealthCheck, TargetProtocol } from "./target.ts";

/** What a service's targets are made from: config entries, discovery answers or live targets. */
export interface TargetListing {
  url: string;
  weight: number;
  zone?: string | undefined;
  version?: string | undefined;
  tags?: readonly string[];
  metadata?: Readonly<Record<string, string>>;
  healthCheck?: TargetHealthCheck | undefined;
}

/** A target as a listing entry: what another thread needs to list the same target. */
export function listingOf(target: Target): TargetListing {
  const { url, weight, zone, version, tags, metadata, healthCheck } = target;
  return { url, weight, zone, version, tags, metadata, healthCheck };
}

/** What a service asks of one of its targets. */
export interface TargetSpec {
  service: string;
  url: string;
  weight: number;
  zone?: string | undefined;
  version?: string | undefined;
  tags?: readonly string[] | undefined;
  metadata?: Readonly<Record<string, string>> | undefined;
  healthCheck?: TargetHealthCheck | undefined;
  connectTimeout: number;
  /** `grpc`: the target is reached over HTTP/2 sessions. Part of its identity. */
  protocol?: TargetProtocol;
  /** TLS towards an `https://` target (the service's `tls`). Part of its identity. */
  tls?: UpstreamTls;
  maxConnections: number;
  circuitBreaker?: CircuitBreakerConfig;
  /** Health of a target seen for the first time: `unknown` keeps it out until a probe passes. */
  initialHealth?: "healthy" | "unknown";
}

/**
 * Where a service gets its Target objects: one per identity, the same one (state and all)
 * for as long as some service lists it (runtime/target-registry).
 */
export interface TargetPool {
  acquire(spec: TargetSpec): Target;
}

/** What a service knows of the gateway it runs in. */
export interface ServiceContext {
  /** The gateway's zone (`gateway.zone`), for `loadBalancer.zoneAware`. */
  zone?: string | undefined;
}

/** What a `setTargets` changed. */
export interface TargetChanges {
  /** Targets acquired for entries the service had not listed before (possibly known targets with new settings). */
  added: Target[];
  /** Targets the service no longer lists. */
  removed: Target[];
}

/** One configured service. */
export class Service {
  readonly name: string;
  readonly config: ServiceConfig;
  readonly timeouts: TimeoutsConfig;
  /** `protocol: grpc`: the targets are spoken to over HTTP/2 sessions, in gRPC calls only. */
  readonly grpc: boolean;
  readonly retry: RetryPolicy;
  readonly #selector: Selector;
  readonly #panic: PanicThreshold;
  /** Whether the service was in panic at its last selection. */
  #inPanic = false;
  /** Passive checks: the service's `passive` block, or the default rule without one. */
  readonly #detector: OutlierDetector;
  #targets: readonly Target[] = [];
  /** The listing `#targets` was made from, entry for entry. */
  #listing: readonly TargetListing[] = [];
  /** With `zoneAware`: the gateway's zone, and the targets in it (kept with `#targets`). */
  readonly #zone: string | undefined;
  #local: readonly Target[] = [];
  /** Its own selector: one that keeps state (a ring, a cursor) keeps it per list. */
  readonly #localSelector: Selector | undefined;
  /** The target each listing entry was given, while the entry lives (entries are not changed). */
  readonly #acquired = new WeakMap<TargetListing, Target>();

  /** Builds everything the config decides once; a bad selector config throws here. */
  constructor(config: ServiceConfig, clock: Clock = systemClock, context: ServiceContext = {}) {
    this.name = config.name;
    this.config = config;
    this.timeouts = config.timeouts;
    this.grpc = config.protocol === "grpc";
    this.retry = new RetryPolicy(config.retries);
    this.#selector = createSelector(config.loadBalancer);
    this.#panic = new PanicThreshold(config.healthCheck.panicThreshold, clock);
    const passive = config.healthCheck.passive ?? defaultPassiveCheck;
    this.#detector = new OutlierDetector(passive, clock, () => this.#targets);
    this.#zone = config.loadBalancer.zoneAware ? context.zone : undefined;
    if (this.#zone !== undefined) this.#localSelector = createSelector(config.loadBalancer);
  }

  /** The current targets; replaced whole by `setTargets`, never changed in place. */
  get targets(): readonly Target[] {
    return this.#targets;
  }

  /** The listing the current targets were made from, entry for entry (see `setTargets`). */
  get listing(): readonly TargetListing[] {
    return this.#listing;
  }

  /**
   * Picks a target for a request. In panic (too few usable targets) every target that is
   * not full is offered to the selector, health and breakers notwithstanding. Zone-aware,
   * the targets in the gateway's zone are offered alone while one of them is available.
   */
  select(selection: SelectionRequest, options?: SelectionOptions): Target | undefined {
    const targets = this.#targets;
    if (this.#panic.thresholdPercent > 0) {
      const panic = this.#panic.test(targets);
      if (panic !== this.#inPanic) {
        this.#inPanic = panic;
        for (const target of targets) target.ignoreHealth = panic;
      }
    }
    const local = this.#local;
    if (local.length > 0 && local !== targets && anyAdmissible(local, options)) {
      const picked = this.#localSelector!.select(local, selection, options);
      if (picked) return picked;
    }
    return this.#selector.select(targets, selection, options);
  }

  /**
   * Points the service at these targets, reusing the pool's Target for any it already
   * knew (state and all). The array is replaced, never changed in place, so a selector sees
   * a new list and a request in flight keeps the one it started with. Returns the targets
   * it took on and those it no longer lists (for the caller to release).
   *
   * Entries are compared with the previous listing by identity first: a discovery source
   * hands on the entries that did not change as they were, so a change to one instance
   * among thousands costs one acquisition and a copy of the list, not a look at each.
   */
  setTargets(listing: readonly TargetListing[], pool: TargetPool): TargetChanges {
    const before = this.#listing;
    const previous = this.#targets;
    // The entries both listings share at their start and at their end (by identity).
    let start = 0;
    const shorter = Math.min(listing.length, before.length);
    while (start < shorter && listing[start] === before[start]) start++;
    let end = listing.length;
    let endBefore = before.length;
    while (end > start && endBefore > start && listing[end - 1] === before[endBefore - 1]) {
      end--;
      endBefore--;
    }
    const added: Target[] = [];
    const middle: Target[] = [];
    for (let i = start; i < end; i++) {
      const entry = listing[i]!;
      const known = this.#acquired.get(entry);
      if (known !== undefined && !known.closed) {
        middle.push(known);
        continue;
      }
      const target = pool.acquire(this.#specOf(entry));
      this.#acquired.set(entry, target);
      // A previous config's observers go; the outlier records live on with the target. It
      // joins the service's panic as it stands (the next selection tests it again).
      if (!target.observers.has(this.#detector.observe)) {
        target.observers.clear();
        target.observers.add(this.#detector.observe);
      }
      target.ignoreHealth = this.#inPanic;
      middle.push(target);
      added.push(target);
    }
    const targets =
      start === 0 && end === listing.length
        ? middle
        : middle.length <= 1024
          ? previous.toSpliced(start, endBefore - start, ...middle)
          : previous.slice(0, start).concat(middle, previous.slice(endBefore));
    // What the previous middle held and the new list does not: a scan for a few, a set for many.
    const removed: Target[] = [];
    const listed = endBefore - start > 16 ? new Set(targets) : undefined;
    for (let i = start; i < endBefore; i++) {
      const target = previous[i]!;
      if (!(listed ? listed.has(target) : targets.includes(target))) removed.push(target);
    }
    this.#listing = listing;
    this.#targets = targets;
    const zone = this.#zone;
    const local = zone === undefined ? [] : targets.filter((target) => target.zone === zone);
    // All local (or none): the whole list, with no second look.
    this.#local = local.length === targets.length ? targets : local;
    return { added, removed };
  }

  /** What this service asks of the target an entry lists. */
  #specOf(entry: TargetListing): TargetSpec {
    const config = this.config;
    return {
      url: entry.url,
      weight: entry.weight,
      zone: entry.zone,
      version: entry.version,
      tags: entry.tags,
      metadata: entry.metadata,
      healthCheck: entry.healthCheck,
      service: this.name,
      connectTimeout: this.timeouts.connect,
      protocol: config.protocol,
      ...(config.tls && { tls: config.tls }),
      maxConnections: config.limits.maxConnections,
      circuitBreaker: config.circuitBreaker,
      initialHealth: config.healthCheck.active ? config.healthCheck.initialState : "healthy",
    };
  }
}

/** Whether a selector may pick one of `targets` (those the request excludes left out). */
function anyAdmissible(targets: readonly Target[], options: SelectionOptions | undefined): boolean {
  for (const target of targets) if (admissible(target, options)) return true;
  return false;
}
