/**
 * @module runtime/plugin-instances
 * The plugin instances of one runtime, and how they pass to the next on reload: a plugin
 * configured at the same place with the same config (and the same contents of the files it
 * reads, for one that names them) is handed on, state and all (rate-limit counters,
 * in-flight counts, token and JWKS caches), instead of being created again.
 */

import { configOriginOf } from "../config/document.ts";
import type {
  ConsumerConfig,
  GatehouseConfig,
  PluginConfig,
  RouteConfig,
} from "../config/schema/index.ts";
import type { Logger } from "../observability/logger.ts";
import { type Chain, type ChainEntry, compileChain } from "../pipeline/chain.ts";
import type { PluginDefinition, PluginHooks, PluginScope } from "../pipeline/plugin.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";
import type { PluginTelemetrySource } from "../pipeline/telemetry.ts";
import { authenticationGate } from "../plugins/auth/authentication.ts";
import type { NodeLimits } from "../stores/node-limits.ts";
import type { RedisConnections } from "../stores/redis.ts";

/** What one gateway gives the plugins it creates: the plugins it knows, and its node's limits. */
export interface GatewayPlugins {
  registry: PluginRegistry;
  /** With several worker threads: where limits are counted once per node. */
  nodeLimits?: NodeLimits;
  /** The gateway's Redis connections, shared by its plugin instances. */
  redis: RedisConnections;
  /** The folder the files plugin configs name are relative to (the config file's); default the working directory. */
  baseDir?: string;
}

/** A plugin's scope before its telemetry, which goes by the plugin's name, is added. */
type PlacedScope = Omit<PluginScope, "telemetry" | "log">;

/** One created instance and what it was created from. */
interface Placed {
  entry: ChainEntry;
  definition: PluginDefinition;
  /** Place and config: equal identities may share the instance across a reload. */
  identity: string | undefined;
  /** The one runtime that closes it: its creator's, until a later one takes it over. */
  owner: PluginInstances;
}

/**
 * Creates each configured plugin once (a global plugin's one instance serves every route,
 * so its state is shared as configured) and builds each route's chain from them. Given the
 * previous runtime's instances, takes over those whose identity is unchanged.
 */
export class PluginInstances {
  /** This runtime's instances, by the config entry they serve. */
  readonly #instances = new Map<PluginConfig, Placed>();
  /** The same by identity, for the next runtime to take over. */
  readonly #byIdentity = new Map<string, Placed>();
  #previous: PluginInstances | undefined;
  /** Instances taken over from `previous`, given back if this compile fails. */
  readonly #taken: Placed[] = [];
  readonly #plugins: GatewayPlugins;
  readonly #telemetry: PluginTelemetrySource;
  readonly #log: Logger;
  /** Answers 401 when no authentication plugin identified the client (counted as its own). */
  readonly #gate: ChainEntry;
  /** Keys of what create() reads besides the plugin's config, the same for the whole config. */
  #context:
    | { consumers: string | undefined; stores: string | undefined; files: string }
    | undefined;

  /**
   * `plugins`, `telemetry` and `log` are the gateway's, so a taken-over instance's stay
   * right. Only the runtime that replaces `previous` may pass it: it takes instances out
   * of `previous`.
   */
  constructor(
    plugins: GatewayPlugins,
    telemetry: PluginTelemetrySource,
    log: Logger,
    previous?: PluginInstances,
  ) {
    this.#plugins = plugins;
    this.#telemetry = telemetry;
    this.#log = log;
    this.#previous = previous;
    this.#gate = authenticationGate(telemetry.forPlugin("authentication"));
  }

  chainFor(config: GatehouseConfig, route: RouteConfig): Chain | undefined {
    const service = config.services.find((candidate) => candidate.name === route.service);
    const { registry, nodeLimits, redis, baseDir = process.cwd() } = this.#plugins;
    const shared = {
      consumers: config.consumers,
      stores: config.gateway.stores,
      nodeLimits,
      redis,
      baseDir,
    };
    // Most specific wins: a route's plugin replaces the service's and the global one by name.
    const byName = new Map<string, [PluginConfig, PlacedScope]>();
    for (const plugin of config.plugins) {
      byName.set(plugin.name, [plugin, { level: "global", name: "", ...shared }]);
    }
    for (const plugin of service?.plugins ?? []) {
      byName.set(plugin.name, [plugin, { level: "service", name: route.service, ...shared }]);
    }
    for (const plugin of route.plugins) {
      byName.set(plugin.name, [plugin, { level: "route", name: route.name, ...shared }]);
    }
    if (byName.size === 0) return undefined;
    this.#context ??= {
      // A consumer's own plugins are theirs to compare; authentication never reads them.
      consumers: stableJson(config.consumers.map(withoutPlugins)),
      stores: stableJson(config.gateway.stores),
      files: configOriginOf(config)?.dependsOn?.digest ?? "",
    };
    // With authentication plugins, the gate after them refuses a request none identified.
    const gate = [...byName.keys()].some((name) => registry.get(name)?.authenticates)
      ? [this.#gate]
      : [];
    // ...and a consumer's own plugin replaces all of them, once that consumer is known.
    const byConsumer = new Map<string, ChainEntry[]>();
    for (const consumer of config.consumers) {
      if (consumer.plugins.length === 0) continue;
      const own = new Map(byName);
      for (const plugin of consumer.plugins) {
        own.set(plugin.name, [plugin, { level: "consumer", name: consumer.name, ...shared }]);
      }
      byConsumer.set(consumer.name, [
        ...[...own.values()].map(([plugin, scope]) => this.#instance(plugin, scope)),
        ...gate,
      ]);
    }
    return compileChain(
      [...[...byName.values()].map(([plugin, scope]) => this.#instance(plugin, scope)), ...gate],
      byConsumer,
    );
  }

  /**
   * The instance made for this plugin entry of the config (the same object), if a route
   * uses it: the developer portal asks it for its `openapi()`.
   */
  hooksOf(plugin: PluginConfig): PluginHooks | undefined {
    return this.#instances.get(plugin)?.entry.hooks;
  }

  /**
   * This compile succeeded: let go of the previous runtime's instances, so each runtime
   * does not keep the one before it (and so every runtime since start) alive.
   */
  settled(): void {
    this.#previous = undefined;
    this.#taken.length = 0;
  }

  /**
   * This compile failed: what it took over goes back to the previous runtime (still
   * serving it), and what it created is closed.
   */
  abandon(): Promise<void> {
    for (const placed of this.#taken) placed.owner = this.#previous!;
    this.#taken.length = 0;
    return this.close();
  }

  /**
   * Calls `close` on every instance this runtime owns (not those the next runtime took
   * over), once; one that fails is reported and the rest still close.
   */
  async close(): Promise<void> {
    const owned = new Set([...this.#instances.values()].filter(({ owner }) => owner === this));
    // Forgotten first: a closed instance is neither closed again nor taken over.
    this.#instances.clear();
    this.#byIdentity.clear();
    const instances = [...owned].map(({ entry }) => entry);
    const closing = instances.map(async ({ hooks }) => hooks.close?.());
    (await Promise.allSettled(closing)).forEach((result, i) => {
      if (result.status === "rejected") {
        this.#log.warn({ err: result.reason, plugin: instances[i]!.name }, "plugin close failed");
      }
    });
  }

  #instance(plugin: PluginConfig, scope: PlacedScope): ChainEntry {
    let placed = this.#instances.get(plugin);
    if (!placed) {
      const definition = this.#plugins.registry.get(plugin.name);
      // Validation refuses a config naming a plugin this gateway does not know.
      if (!definition) throw new Error(`unknown plugin "${plugin.name}"`);
      const identity = this.#identity(plugin, scope, definition);
      placed =
        this.#takeOver(identity, definition) ?? this.#create(plugin, scope, definition, identity);
      this.#instances.set(plugin, placed);
      if (identity !== undefined) this.#byIdentity.set(identity, placed);
    }
    return placed.entry;
  }

  #create(
    plugin: PluginConfig,
    scope: PlacedScope,
    definition: PluginDefinition,
    identity: string | undefined,
  ): Placed {
    const log = this.#log.child({ plugin: plugin.name, scope: scopeLabel(scope) });
    const hooks = definition.create(definition.schema.parse(plugin.config), {
      ...scope,
      telemetry: this.#telemetry.forPlugin(plugin.name),
      log,
    });
    const entry = { name: plugin.name, priority: definition.priority, log, hooks };
    return { entry, definition, identity, owner: this };
  }

  /** The previous runtime's instance of this identity, now this runtime's; if it had one. */
  #takeOver(identity: string | undefined, definition: PluginDefinition): Placed | undefined {
    const previous = this.#previous;
    if (identity === undefined || !previous) return undefined;
    const placed = previous.#byIdentity.get(identity);
    if (placed?.owner !== previous || placed.definition !== definition) return undefined;
    placed.owner = this;
    this.#taken.push(placed);
    return placed;
  }

  /**
   * Where the plugin is configured, its config as written (parsing it is deterministic),
   * and what else `create` reads that a reload could change: the consumers, for an
   * authentication plugin (it maps credentials to them), the shared stores, and for a
   * plugin that names files it reads, what the files the config depends on hold.
   * Undefined when some part cannot be compared, so the instance is never reused.
   */
  #identity(plugin: PluginConfig, scope: PlacedScope, definition: PluginDefinition) {
    const config = stableJson(plugin.config);
    const { consumers, stores, files } = this.#context!;
    if (config === undefined || consumers === undefined || stores === undefined) return undefined;
    const place = JSON.stringify([scope.level, scope.name, plugin.name]);
    return [
      place,
      config,
      stores,
      definition.authenticates ? consumers : "",
      definition.files ? files : "",
    ].join("\n");
  }
}

function withoutPlugins({ plugins: _plugins, ...consumer }: ConsumerConfig) {
  return consumer;
}

/** `global`, or where the plugin was set and on what: `route:users-api`. */
function scopeLabel(scope: PlacedScope): string {
  return scope.level === "global" ? "global" : `${scope.level}:${scope.name}`;
}

/**
 * JSON with object keys sorted, so equal configs written in another order compare equal.
 * Undefined for anything but plain data (a Map would print as `{}` and look unchanged).
 */
export function stableJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value, (_key, item: unknown) => {
      if (item === null || typeof item !== "object" || Array.isArray(item)) return item;
      const prototype = Object.getPrototypeOf(item);
      if (prototype !== Object.prototype && prototype !== null) throw new NotPlainData();
      return Object.fromEntries(
        Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    });
  } catch (error) {
    if (error instanceof NotPlainData) return undefined;
    throw error;
  }
}

class NotPlainData extends Error {}
