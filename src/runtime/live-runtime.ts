/**
 * @module runtime/live-runtime
 * The runtime one thread serves from: compiled from each config off to the side and
 * swapped in as one reference, over the targets that outlive reloads (their pools and
 * state kept, those no service lists any more closed).
 */
import { configOriginOf } from "../config/document.ts";
import { formatProblem } from "../config/load.ts";
import type { GatehouseConfig } from "../config/schema/index.ts";
import type { Logger } from "../observability/logger.ts";
import type { PluginTelemetrySource } from "../pipeline/telemetry.ts";
import {
  listingOf,
  type Service,
  type TargetChanges,
  type TargetListing,
} from "../upstream/service.ts";
import type { Target } from "../upstream/target.ts";
import { compileRuntime } from "./compile.ts";
import type { GatewayPlugins } from "./plugin-instances.ts";
import type { Runtime } from "./runtime.ts";
import { TargetRegistry } from "./target-registry.ts";

export interface LiveRuntimeOptions {
  plugins: GatewayPlugins;
  log: Logger;
  /** Where the plugins' own metrics go (the thread's metrics, when enabled). */
  telemetry?: PluginTelemetrySource | undefined;
}

/** The current runtime of a thread, and what outlives each one. */
export class LiveRuntime {
  readonly targets = new TargetRegistry();
  readonly plugins: GatewayPlugins;
  readonly #log: Logger;
  readonly #telemetry: PluginTelemetrySource | undefined;
  #current: Runtime;

  /** Compiles `config` (throws what compiling it throws). */
  constructor(config: GatehouseConfig, options: LiveRuntimeOptions) {
    this.plugins = options.plugins;
    this.#log = options.log;
    this.#telemetry = options.telemetry;
    this.#warn(config);
    this.#current = this.#compile(config, undefined);
  }

  /** The runtime requests are served from now. */
  get current(): Runtime {
    return this.#current;
  }

  /**
   * Compiles `config` beside the current runtime and serves it from now on; returns the
   * runtime it replaced, for `retire` once the rest of the node follows. Requests in
   * flight finish on the runtime they started with.
   */
  swap(config: GatehouseConfig): Runtime {
    const previous = this.#current;
    const next = this.#compile(config, previous);
    this.#warn(config);
    this.#current = next;
    return previous;
  }

  /**
   * Lets go of what `previous` held that the current runtime did not take over: its plugin
   * instances, and the targets no service lists any more.
   */
  async retire(previous: Runtime): Promise<void> {
    await previous.closePlugins();
    this.#dropUnusedTargets();
  }

  /**
   * Gives one service of the current runtime these targets (a discovery answer): targets
   * that stay keep their state, those left out are closed. Returns the service and what
   * changed; undefined when the current runtime has no such service (a reload removed it).
   */
  setTargets(
    name: string,
    listing: readonly TargetListing[],
  ): ({ service: Service } & TargetChanges) | undefined {
    const service = this.#current.services.get(name);
    if (!service) return undefined;
    const changes = service.setTargets(listing, this.targets);
    this.targets.release(changes.removed);
    return { service, ...changes };
  }

  /**
   * Applies what one discovery answer changed to a service (a worker thread hears the
   * supervisor's changes, not whole sets): the entries at `removed` URLs go, each of `put`
   * replaces the entry at its URL or joins at the end, and the rest stay the same objects,
   * so the service looks again at the changed entries only. See `setTargets`.
   */
  changeTargets(
    name: string,
    put: readonly TargetListing[],
    removed: readonly string[],
  ): ({ service: Service } & TargetChanges) | undefined {
    const service = this.#current.services.get(name);
    if (!service) return undefined;
    return this.setTargets(name, changedListing(service.listing, put, removed));
  }

  /** The targets of every service that discovers them, to start a worker thread with. */
  discoveredTargets(): { service: string; targets: TargetListing[] }[] {
    const found: { service: string; targets: TargetListing[] }[] = [];
    for (const service of this.#current.services.values()) {
      if (!service.config.discovery) continue;
      found.push({ service: service.name, targets: service.targets.map(listingOf) });
    }
    return found;
  }

  /** Requests sent to targets and not yet answered. */
  get upstreamRequestsInFlight(): number {
    let inFlight = 0;
    for (const target of this.targets.values()) inFlight += target.inFlight;
    return inFlight;
  }

  /** Closes the plugins and every target's connections. */
  async close(): Promise<void> {
    await this.#current.closePlugins();
    await this.targets.destroyAll();
  }

  #compile(config: GatehouseConfig, previous: Runtime | undefined): Runtime {
    const { targets, plugins } = this;
    return compileRuntime(config, targets, previous, this.#telemetry, this.#log, plugins);
  }

  /**
   * Logs what loading `config` warned about, located. A worker thread's configs come without
   * their origin (config/checked-config): the supervisor that read them logged these.
   */
  #warn(config: GatehouseConfig): void {
    for (const warning of configOriginOf(config)?.warnings ?? []) {
      const { file, line, col } = warning;
      this.#log.warn({ config: file, line, col }, formatProblem(warning));
    }
  }

  /** Closes targets that no service of the current runtime lists any more. */
  #dropUnusedTargets(): void {
    const keep = new Set<Target>();
    for (const service of this.#current.services.values()) {
      for (const target of service.targets) keep.add(target);
    }
    this.targets.retainOnly(keep);
  }
}

/** `listing` with the entries at `removed` URLs dropped and `put` entries set by URL. */
function changedListing(
  listing: readonly TargetListing[],
  put: readonly TargetListing[],
  removed: readonly string[],
): TargetListing[] {
  // A few changes (the usual): found by a scan each, the list copied once.
  if (put.length + removed.length <= 16) {
    const next = [...listing];
    for (const url of removed) {
      const at = next.findIndex((entry) => entry.url === url);
      if (at >= 0) next.splice(at, 1);
    }
    for (const entry of put) {
      const at = next.findIndex((known) => known.url === entry.url);
      if (at >= 0) next[at] = entry;
      else next.push(entry);
    }
    return next;
  }
  const gone = new Set(removed);
  const byUrl = new Map(put.map((entry) => [entry.url, entry]));
  const next: TargetListing[] = [];
  for (const entry of listing) {
    if (gone.has(entry.url)) continue;
    const replaced = byUrl.get(entry.url);
    byUrl.delete(entry.url);
    next.push(replaced ?? entry);
  }
  next.push(...byUrl.values());
  return next;
}
