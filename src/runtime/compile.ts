/**
 * @module runtime/compile
 * Turns a validated config into the runtime the request path reads: the route table and
 * the services with their targets and selectors. Everything per-route is decided here,
 * once, so the request path only looks things up.
 */

import type { GatehouseConfig, RouteConfig } from "../config/schema/index.ts";
import type { PathProblem } from "../config/semantics.ts";
import { fallbackLogger, type Logger } from "../observability/logger.ts";
import { type PluginTelemetrySource, silentTelemetrySource } from "../pipeline/telemetry.ts";
import { createPluginRegistry } from "../plugins/index.ts";
import { parsePathPattern } from "../router/path-pattern.ts";
import { compileRewrite, type PathRewriter } from "../router/rewrite.ts";
import { prepare } from "../router/route-definition.ts";
import { RouteDefinitionError, RouteTable } from "../router/route-table.ts";
import { RedisConnections } from "../stores/redis.ts";
import { deprecationHeaders } from "../traffic/deprecation.ts";
import { Mirror, type MirrorCounter } from "../traffic/mirror.ts";
import { TrafficSplit } from "../traffic/split.ts";
import { Service } from "../upstream/service.ts";
import { identityHeadersOf } from "./identity-headers.ts";
import { type GatewayPlugins, PluginInstances } from "./plugin-instances.ts";
import type { CompiledRoute, Runtime } from "./runtime.ts";
import type { TargetRegistry } from "./target-registry.ts";

/**
 * Builds the runtime. The config must have passed the gateway's checks (runtime/validate). A service fed by
 * discovery starts with the targets it had in `previous` (none on first load) until its
 * source answers. Plugins count through `telemetry` (the gateway's metrics, when on).
 * A plugin configured at the same place with the same config as in `previous` keeps its
 * instance (see plugin-instances.ts): pass `previous` only when the result replaces it.
 * `plugins`: the gateway's plugin registry (the one the config was validated with).
 */
export function compileRuntime(
  config: GatehouseConfig,
  registry: TargetRegistry,
  previous?: Runtime,
  telemetry: PluginTelemetrySource = silentTelemetrySource,
  log: Logger = fallbackLogger,
  plugins: GatewayPlugins = { registry: createPluginRegistry(), redis: new RedisConnections() },
): Runtime {
  const services = new Map<string, Service>();
  for (const serviceConfig of config.services) {
    const service = new Service(serviceConfig, undefined, { zone: config.gateway.zone });
    const listed = serviceConfig.targets ?? previous?.services.get(service.name)?.targets ?? [];
    service.setTargets(listed, registry);
    services.set(service.name, service);
  }
  const instances = new PluginInstances(plugins, telemetry, log, previous?.plugins);
  let routes: RouteTable<CompiledRoute>;
  const routesByName = new Map<string, CompiledRoute>();
  try {
    const identityHeaders = identityHeadersOf(config, plugins.registry);
    const countMirror = telemetry.mirrored?.bind(telemetry) ?? (() => {});
    routes = compileRoutes(config, services, instances, routesByName, identityHeaders, countMirror);
  } catch (error) {
    // The previous runtime keeps serving, with the instances this one had taken over.
    void instances.abandon();
    throw error;
  }
  instances.settled();
  return {
    config,
    routes,
    routesByName,
    services,
    plugins: instances,
    closePlugins: () => instances.close(),
  };
}

function compileRoutes(
  config: GatehouseConfig,
  services: ReadonlyMap<string, Service>,
  instances: PluginInstances,
  byName: Map<string, CompiledRoute>,
  identityHeaders: readonly string[],
  countMirror: MirrorCounter,
): RouteTable<CompiledRoute> {
  const compile = (route: RouteConfig): CompiledRoute => {
    const compiled: CompiledRoute = {
      name: route.name,
      service: services.get(route.service)!,
      rewrite: rewriterFor(route),
      preserveHost: route.preserveHost,
      websocket: route.websocket,
      identityHeaders,
      chain: instances.chainFor(config, route),
      split: route.split ? new TrafficSplit(route, services) : undefined,
      mirror: route.mirror ? new Mirror(route, services, countMirror) : undefined,
      responseHeaders: deprecationHeaders(route),
    };
    byName.set(route.name, compiled);
    return compiled;
  };
  const checked = checkedTables.get(config);
  if (checked) {
    // Taken once: a second runtime of the same config must not share (or refill) this one's.
    checkedTables.delete(config);
    config.routes.forEach((route, index) => {
      const slot = Object.assign(checked.slots[index]!, compile(route));
      byName.set(route.name, slot);
    });
    return checked.table;
  }
  return new RouteTable(routeDefinitions(config, config.routes.map(compile)), {
    maxParamLength: config.gateway.limits.maxUriLength,
  });
}

/**
 * Route tables `runtimeChecks` built for a config, each route's value an empty slot that
 * `compileRoutes` fills in: building the table is most of the cost of checking and of
 * compiling 10,000 routes (about 0.5 s of a 1.2 s reload), so a reload in the thread that
 * checked it builds it once. A cache by identity, not part of the checked config: a config
 * that crossed to another thread (config/checked-config) is compiled from scratch there.
 */
const checkedTables = new WeakMap<
  GatehouseConfig,
  { table: RouteTable<CompiledRoute>; slots: CompiledRoute[] }
>();

function routeDefinitions<R>(config: GatehouseConfig, values: readonly R[]) {
  return config.routes.map((route, index) => ({
    ...route.match,
    priority: route.priority,
    value: values[index]!,
  }));
}

function rewriterFor(route: RouteConfig): PathRewriter {
  return compileRewrite(route, route.match.paths.map(parsePathPattern));
}

/**
 * Checks only compiling can do (paths, hosts, regexes, rewrites), as located problems. The
 * plugin entries are checked on the config as written (runtime/plugin-checks).
 */
export function runtimeChecks(config: GatehouseConfig): PathProblem[] {
  const problems: PathProblem[] = [];
  config.routes.forEach((route, index) => {
    try {
      rewriterFor(route);
    } catch (error) {
      const field = route.rewrite !== undefined ? "rewrite" : "stripPrefix";
      problems.push({ path: ["routes", index, field], message: (error as Error).message });
    }
  });
  try {
    if (tablesAhead) buildTableAhead(config);
    // Every problem a table can have is one route's (router/route-definition): found without one.
    else routeDefinitions(config, config.routes).forEach(prepare);
  } catch (error) {
    if (!(error instanceof RouteDefinitionError)) throw error;
    problems.push({
      path: ["routes", error.routeIndex, "match", error.field, error.itemIndex],
      message: error.message,
    });
  }
  return problems;
}

/** Whether `runtimeChecks` keeps the table it builds for this thread's compile (see below). */
let tablesAhead = true;

/**
 * For a thread that checks configs and compiles none (runtime/validation-worker):
 * `runtimeChecks` checks each route's definition without building a table, which the
 * thread that compiles would build again anyway.
 */
export function checkRoutesWithoutTables(): void {
  tablesAhead = false;
}

/**
 * Builds the route table of a config checked in another thread (runtime/validation-thread)
 * now, for `compileRuntime` to take later: the serving thread then gives waiting requests
 * their turn between the two, rather than holding them for both at once. A table that
 * cannot be built is left for the compile to report.
 */
export function buildRouteTableAhead(config: GatehouseConfig): void {
  if (checkedTables.has(config)) return;
  try {
    buildTableAhead(config);
  } catch {
    // compileRuntime builds it again and throws.
  }
}

function buildTableAhead(config: GatehouseConfig): void {
  const slots = config.routes.map(() => ({}) as CompiledRoute);
  const table = new RouteTable(routeDefinitions(config, slots), {
    maxParamLength: config.gateway.limits.maxUriLength,
  });
  checkedTables.set(config, { table, slots });
}
