/**
 * @module runtime/compile
 * Turns a validated config into the runtime the request path reads: the route table and
 * the services with their targets and selectors. Everything per-route is decided here,
 * once, so the request path only looks things up.
 */

import type {
  GatehouseConfig,
  RouteConfig,
  ServiceConfig,
  TimeoutsConfig,
} from "../config/schema/index.ts";
import { defaultPassiveCheck } from "../config/schema/upstream.ts";
import type { PathProblem } from "../config/semantics.ts";
import { fallbackLogger, type Logger } from "../observability/logger.ts";
import type { Chain } from "../pipeline/chain.ts";
import { type PluginTelemetrySource, silentTelemetrySource } from "../pipeline/telemetry.ts";
import { parsePathPattern } from "../router/path-pattern.ts";
import { compileRewrite, type PathRewriter } from "../router/rewrite.ts";
import { RouteDefinitionError, RouteTable } from "../router/route-table.ts";
import { systemClock } from "../upstream/clock.ts";
import { OutlierDetector } from "../upstream/health/outlier.ts";
import { PanicThreshold } from "../upstream/health/panic.ts";
import { RetryPolicy } from "../upstream/retry.ts";
import {
  createSelector,
  type SelectionOptions,
  type SelectionRequest,
  type Selector,
} from "../upstream/selectors/index.ts";
import type { Target } from "../upstream/target.ts";
import { PluginInstances } from "./plugin-instances.ts";
import type { TargetRegistry } from "./target-registry.ts";

export interface CompiledService {
  name: string;
  config: ServiceConfig;
  targets: Target[];
  selector: Selector;
  timeouts: TimeoutsConfig;
  retry: RetryPolicy;
  panic: PanicThreshold;
  /** Whether the service was in panic at its last selection. */
  inPanic: boolean;
  /** Passive checks: the service's `passive` block, or the default rule without one. */
  detector: OutlierDetector;
}

/** What a service's targets are made from: config entries, discovery answers or live targets. */
export interface TargetListing {
  url: string;
  weight: number;
  zone?: string;
  metadata?: Readonly<Record<string, string>>;
}

/**
 * Points a service at these targets, reusing the registry's Target for any it already
 * knew (state and all). The array is replaced, never changed in place, so a selector sees
 * a new list and a request in flight keeps the one it started with.
 */
export function setServiceTargets(
  service: CompiledService,
  listing: readonly TargetListing[],
  registry: TargetRegistry,
): void {
  const config = service.config;
  const targets = listing.map((target) =>
    registry.acquire({
      url: target.url,
      weight: target.weight,
      zone: target.zone,
      metadata: target.metadata,
      service: service.name,
      connectTimeout: service.timeouts.connect,
      maxConnections: config.limits.maxConnections,
      circuitBreaker: config.circuitBreaker,
      initialHealth: config.healthCheck.active ? config.healthCheck.initialState : "healthy",
    }),
  );
  for (const target of targets) {
    // The previous config's observers go; the outlier records live on with the target.
    // Panic is the new service's to decide: it starts out of panic.
    target.observers.clear();
    target.ignoreHealth = false;
    target.observers.add(service.detector.observe);
  }
  service.targets = targets;
  service.inPanic = false;
}

export interface CompiledRoute {
  name: string;
  service: CompiledService;
  rewrite: PathRewriter;
  preserveHost: boolean;
  websocket: boolean;
  /** The route's plugins (global, service and route, most specific winning), if any has hooks. */
  chain: Chain | undefined;
}

/** What the request path reads; replaced whole on reload, never mutated. */
export interface Runtime {
  config: GatehouseConfig;
  routes: RouteTable<CompiledRoute>;
  services: ReadonlyMap<string, CompiledService>;
  /** The plugin instances; the next runtime takes over those it configures the same way. */
  plugins: PluginInstances;
  /**
   * Releases what the plugins hold (store connections, timers); for a runtime no longer
   * served. Instances the next runtime took over are left running: that one closes them.
   */
  closePlugins(): Promise<void>;
}

/**
 * Builds the runtime. The config must have passed the gateway's checks (runtime/validate). A service fed by
 * discovery starts with the targets it had in `previous` (none on first load) until its
 * source answers. Plugins count through `telemetry` (the gateway's metrics, when on).
 * A plugin configured at the same place with the same config as in `previous` keeps its
 * instance (see plugin-instances.ts): pass `previous` only when the result replaces it.
 */
export function compileRuntime(
  config: GatehouseConfig,
  registry: TargetRegistry,
  previous?: Runtime,
  telemetry: PluginTelemetrySource = silentTelemetrySource,
  log: Logger = fallbackLogger,
): Runtime {
  const services = new Map<string, CompiledService>();
  for (const service of config.services) {
    const passive = service.healthCheck.passive ?? defaultPassiveCheck;
    const compiled: CompiledService = {
      name: service.name,
      config: service,
      targets: [],
      selector: createSelector(service.loadBalancer),
      timeouts: service.timeouts,
      retry: new RetryPolicy(service.retries),
      panic: new PanicThreshold(service.healthCheck.panicThreshold, systemClock),
      inPanic: false,
      detector: new OutlierDetector(passive, systemClock, () => compiled.targets),
    };
    const listed = service.targets ?? previous?.services.get(service.name)?.targets ?? [];
    setServiceTargets(compiled, listed, registry);
    services.set(service.name, compiled);
  }
  const instances = new PluginInstances(telemetry, log, previous?.plugins);
  let routes: RouteTable<CompiledRoute>;
  try {
    routes = compileRoutes(config, services, instances);
  } catch (error) {
    // The previous runtime keeps serving, with the instances this one had taken over.
    void instances.abandon();
    throw error;
  }
  instances.settled();
  return { config, routes, services, plugins: instances, closePlugins: () => instances.close() };
}

function compileRoutes(
  config: GatehouseConfig,
  services: ReadonlyMap<string, CompiledService>,
  instances: PluginInstances,
): RouteTable<CompiledRoute> {
  const compile = (route: RouteConfig): CompiledRoute => ({
    name: route.name,
    service: services.get(route.service)!,
    rewrite: rewriterFor(route),
    preserveHost: route.preserveHost,
    websocket: route.websocket,
    chain: instances.chainFor(config, route),
  });
  const checked = checkedTables.get(config);
  if (checked) {
    // Taken once: a second runtime of the same config must not share (or refill) this one's.
    checkedTables.delete(config);
    config.routes.forEach((route, index) => {
      Object.assign(checked.slots[index]!, compile(route));
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
 * compiling 10,000 routes, so a reload builds it once.
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

/**
 * Picks a target for a request. In panic (too few usable targets) every target that is
 * not full is offered to the selector, health and breakers notwithstanding.
 */
export function selectTarget(
  service: CompiledService,
  selection: SelectionRequest,
  options?: SelectionOptions,
): Target | undefined {
  if (service.panic.thresholdPercent > 0) {
    const panic = service.panic.test(service.targets);
    if (panic !== service.inPanic) {
      service.inPanic = panic;
      for (const target of service.targets) target.ignoreHealth = panic;
    }
  }
  return service.selector.select(service.targets, selection, options);
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
    const slots = config.routes.map(() => ({}) as CompiledRoute);
    const table = new RouteTable(routeDefinitions(config, slots), {
      maxParamLength: config.gateway.limits.maxUriLength,
    });
    checkedTables.set(config, { table, slots });
  } catch (error) {
    if (!(error instanceof RouteDefinitionError)) throw error;
    problems.push({
      path: ["routes", error.routeIndex, "match", error.field, error.itemIndex],
      message: error.message,
    });
  }
  return problems;
}
