/**
 * @module pipeline/plugin
 * The plugin contract: `definePlugin({ name, schema, priority, create })`. A plugin's
 * config is validated by its own schema at load; `create` runs once per place the plugin
 * is configured and returns the phase hooks it implements. Hooks may be synchronous; the
 * pipeline awaits only what returns a promise.
 *
 * Phases, in order (onResponse runs in reverse priority order):
 *
 *   onRequest → access → beforeUpstream → (upstream) → onResponse → onLog
 */
import type { z } from "zod";
import type { ConsumerConfig, StoresConfig } from "../config/schema/index.ts";
import type { ErrorCode } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import type { OpenApiFragment } from "../portal/openapi-fragment.ts";
import type { NodeLimits } from "../stores/node-limits.ts";
import type { RedisConnections } from "../stores/redis.ts";
import type { RequestContext } from "./context.ts";
import type { PluginTelemetry } from "./telemetry.ts";

/** What a hook may return: nothing, or a promise of nothing. */
export type HookResult = void | Promise<void>;

/** The response a plugin sees in `onResponse`: status and the header list sent to the client. */
export interface ResponseView {
  /** The upstream's status; a hook may set another, which is sent (with its own reason phrase). */
  status: number;
  /** Flat [name, value, ...] list; plugins may push, replace or remove pairs. */
  headers: string[];
}

/** The hooks one configured plugin implements; any subset. */
export interface PluginHooks {
  /** First look at the request, before authentication (request ids, early rejects). */
  onRequest?(ctx: RequestContext): HookResult;
  /** Authentication, authorization, rate limiting, validation. */
  access?(ctx: RequestContext): HookResult;
  /** Last changes before the upstream is called (rewrites, cache lookups). */
  beforeUpstream?(ctx: RequestContext): HookResult;
  /**
   * The response headers, before they are sent. A hook that returns a promise holds the
   * upstream's response (its body unread) until it settles; `ctx.respond(...)` here
   * replaces the upstream's response, and the onResponse hooks after this one add their
   * headers to the replacement. On an answer, `ctx.respond`/`ctx.fail` do nothing.
   */
  onResponse?(ctx: RequestContext, response: ResponseView): HookResult;
  /**
   * The upstream failed before a response started (it could not be reached, timed out, or
   * broke off): the gateway is about to answer with `code` (502, 503, 504). A hook may
   * `ctx.respond(...)` instead, as a cache does with a stale copy (`stale-if-error`); the
   * onResponse hooks then see that answer. Synchronous; run in onResponse order.
   */
  onUpstreamFailure?(ctx: RequestContext, code: ErrorCode): void;
  /** After the response finished: metrics, logs. Errors here never reach the client. */
  onLog?(ctx: RequestContext): void;
  /**
   * What the admin API's runtime view shows of this instance on each route it is on (the
   * routes `grpc-transcode` made of its protos, say): a JSON-able object, read when asked.
   */
  describe?(): Record<string, unknown>;
  /**
   * What the developer portal publishes for the route this instance is on, when it is
   * published: the operations this plugin knows (the HTTP bindings `grpc-transcode` made of
   * its protos, an OpenAPI spec it validates against), read when the portal is built.
   */
  openapi?(): OpenApiFragment | Promise<OpenApiFragment>;
  /**
   * The instance is no longer used: the gateway stopped, or a reload replaced its config.
   * Release what `create` acquired (store connections, timers). Requests that started on
   * the old config may still be finishing.
   */
  close?(): void | Promise<void>;
}

/** A problem a plugin's `check` found. */
export interface PluginCheckProblem {
  message: string;
  /** Where in the plugin's `config` it is (default: the config itself). */
  path?: (string | number)[];
  /** Where it is when it is in a file the config names, not in the config. */
  at?: { file: string; line: number; col: number };
}

/** A plugin: its name, its config schema, where it runs among others, and its factory. */
export interface PluginDefinition<Schema extends z.ZodType = z.ZodType> {
  name: string;
  schema: Schema;
  /**
   * Higher runs earlier in every phase but onResponse. 1000 and above run before the
   * consumer is known (edge checks, authentication at 1000); below it, acl ~950 and
   * limits ~900. Only plugins below 1000 may be set on a consumer.
   */
  priority: number;
  /**
   * Identifies consumers (key-auth, basic-auth, ...). Several on one chain are any-of: a
   * plugin that finds none of its credentials defers to the others, and a gate after them
   * answers 401 if none named a consumer (see plugins/auth/authentication.ts).
   */
  authenticates?: boolean;
  create(config: z.output<Schema>, scope: PluginScope): PluginHooks;
  /**
   * Checks what only reading the files its config names reveals (a `.proto`, an OpenAPI
   * document), when the config is validated, so the problems come with the rest, located.
   * Optional; relative paths are relative to `baseDir` (the config file's folder).
   */
  check?(config: z.output<Schema>, context: { baseDir: string }): PluginCheckProblem[];
  /**
   * The files `create` reads for this config (absolute, or relative to `baseDir`): the
   * config depends on them as on its own text. Their contents are part of the config's
   * hash, so an edit to one is a new config (applied on reload, this plugin created again),
   * and the file provider watches them as it does `${file:…}` references. Optional; asked
   * when the config is validated, after `check` found nothing wrong.
   */
  files?(config: z.output<Schema>, context: { baseDir: string }): string[];
  /**
   * The upstream request headers this plugin sets to say who the client is (jwt's
   * `claimsToHeaders`). A config that configures the plugin anywhere drops a client's own
   * headers of these names on every route, as it does `X-Consumer-Name`: an upstream that
   * reads one on an authenticated route must not be told who the client is by the client
   * on a route without authentication. Optional; asked once per config load.
   */
  identityHeaders?(config: z.output<Schema>): string[];
}

/** Where a plugin instance was configured, and what of the config it may need. */
export interface PluginScope {
  level: "global" | "service" | "route" | "consumer";
  /** The route, service or consumer name; empty for global. */
  name: string;
  /**
   * The config's consumers, for authentication plugins: only those are created again on a
   * reload that changes the consumers (see runtime/plugin-instances.ts).
   */
  consumers: readonly ConsumerConfig[];
  /** The shared stores declared under `gateway.stores`. */
  stores: StoresConfig;
  /**
   * The gateway's Redis connections: `redis.acquire(target, { timeout })` leases the one
   * client per Redis that every plugin instance of the gateway shares; release it in `close`.
   */
  redis: RedisConnections;
  /**
   * Where limits are counted once per node, when this gateway is one of the node's worker
   * threads (`gateway.workers` > 1); undefined otherwise: count in the instance's memory.
   */
  nodeLimits?: NodeLimits;
  /** The folder relative paths in the plugin's config are relative to: the config file's. */
  baseDir: string;
  /** Counters for what the plugin decides (see telemetry.ts); do-nothing when metrics are off. */
  telemetry: PluginTelemetry;
  /** The process log, bound to `{plugin, scope}`; never give it a credential. */
  log: Logger;
}

/** Declares a plugin; the identity function that gives `create` its config type. */
export function definePlugin<Schema extends z.ZodType>(
  definition: PluginDefinition<Schema>,
): PluginDefinition<Schema> {
  if (!/^[a-z][a-z0-9-]*$/.test(definition.name)) {
    throw new Error(`plugin name "${definition.name}" must be lower-case words joined by -`);
  }
  return definition;
}
