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
} from "../config/schema.ts";
import type { PathProblem } from "../config/semantics.ts";
import { closest } from "../config/suggest.ts";
import { pluginNames } from "../pipeline/registry.ts";
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
  detector: OutlierDetector | undefined;
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
    if (service.detector) target.observers.add(service.detector.observe);
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
}

/** What the request path reads; replaced whole on reload, never mutated. */
export interface Runtime {
  config: GatehouseConfig;
  routes: RouteTable<CompiledRoute>;
  services: ReadonlyMap<string, CompiledService>;
}

/**
 * Builds the runtime. The config must have passed `runtimeChecks`. A service fed by
 * discovery starts with the targets it had in `previous` (none on first load) until its
 * source answers.
 */
export function compileRuntime(
  config: GatehouseConfig,
  registry: TargetRegistry,
  previous?: Runtime,
): Runtime {
  const services = new Map<string, CompiledService>();
  for (const service of config.services) {
    const passive = service.healthCheck.passive;
    const compiled: CompiledService = {
      name: service.name,
      config: service,
      targets: [],
      selector: createSelector(service.loadBalancer),
      timeouts: service.timeouts,
      retry: new RetryPolicy(service.retries),
      panic: new PanicThreshold(service.healthCheck.panicThreshold, systemClock),
      inPanic: false,
      detector: passive && new OutlierDetector(passive, systemClock, () => compiled.targets),
    };
    const listed = service.targets ?? previous?.services.get(service.name)?.targets ?? [];
    setServiceTargets(compiled, listed, registry);
    services.set(service.name, compiled);
  }
  const routes = new RouteTable(
    config.routes.map((route) => ({
      ...route.match,
      priority: route.priority,
      value: {
        name: route.name,
        service: services.get(route.service)!,
        rewrite: rewriterFor(route),
        preserveHost: route.preserveHost,
        websocket: route.websocket,
      },
    })),
    { maxParamLength: config.gateway.limits.maxUriLength },
  );
  return { config, routes, services };
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

/** Checks only compiling can do (paths, hosts, regexes, rewrites, plugin names), as located problems. */
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
    new RouteTable(
      config.routes.map((route) => ({
        ...route.match,
        priority: route.priority,
        value: route.name,
      })),
    );
  } catch (error) {
    if (!(error instanceof RouteDefinitionError)) throw error;
    problems.push({
      path: ["routes", error.routeIndex, "match", error.field, error.itemIndex],
      message: error.message,
    });
  }
  const checkPlugins = (plugins: readonly { name: string }[], path: (string | number)[]) => {
    plugins.forEach((plugin, index) => {
      if (pluginNames().includes(plugin.name)) return;
      const hint = closest(plugin.name, pluginNames());
      problems.push({
        path: [...path, index, "name"],
        message: `unknown plugin "${plugin.name}"${hint ? ` (did you mean "${hint}"?)` : ""}`,
      });
    });
  };
  checkPlugins(config.plugins, ["plugins"]);
  config.routes.forEach((route, index) => {
    checkPlugins(route.plugins, ["routes", index, "plugins"]);
  });
  return problems;
}
