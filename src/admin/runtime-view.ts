/**
 * @module admin/runtime-view
 * `GET /runtime`: what the gateway is doing with the config, per route and per service —
 * whether each route can be served now, and why not, with every target's live health,
 * breaker state, load and latency (Traefik's runtime view, for Gatehouse).
 */

import { GatehouseError } from "../errors.ts";
import type { RouteTraffic } from "../observability/request-metrics.ts";
import type { CompiledRoute, Runtime } from "../runtime/runtime.ts";
import type { Service } from "../upstream/service.ts";
import { type TargetView, viewTarget } from "../upstream/upstream-view.ts";
import type { AdminContext, AdminRoute } from "./context.ts";
import { sendJson, versionTag } from "./http.ts";

/** How a route or service stands: `serving`, or `unavailable` with the reason. */
interface Standing {
  status: "serving" | "unavailable";
  errors: string[];
}

export function runtimeRoutes(): AdminRoute[] {
  return [
    { method: "GET", path: "/runtime", handle: async (ctx) => send(ctx, await view(ctx)) },
    {
      method: "GET",
      path: "/runtime/routes/:name",
      handle: async (ctx) => send(ctx, pick((await view(ctx)).routes, "route", ctx.params.name)),
    },
    {
      method: "GET",
      path: "/runtime/services/:name",
      handle: async (ctx) =>
        send(ctx, pick((await view(ctx)).services, "service", ctx.params.name)),
    },
  ];
}

function send(ctx: AdminContext, body: unknown): void {
  sendJson(ctx.res, 200, body, { etag: versionTag(ctx.control.history.current.version) });
}

const view = async (ctx: AdminContext) => viewRuntime(ctx.runtime(), await ctx.traffic?.());

/**
 * Every route and service of `runtime`, as they stand now; with `traffic` (when metrics
 * are on), each route's answers since start, by status class and by gateway error code.
 */
export function viewRuntime(runtime: Runtime, traffic?: Map<string, RouteTraffic>) {
  const services = [...runtime.services.values()].map(viewService);
  const byName = new Map(services.map((service) => [service.name, service]));
  const routes = runtime.config.routes.map((route) => {
    const service = byName.get(route.service);
    const errors =
      service?.status === "serving"
        ? []
        : [`service ${route.service}: ${service?.errors.join("; ") ?? "missing"}`];
    return {
      name: route.name,
      status: errors.length === 0 ? "serving" : "unavailable",
      errors,
      service: route.service,
      match: route.match,
      websocket: route.websocket,
      plugins: route.plugins.map((plugin) => plugin.name),
      ...pluginDetails(runtime.routesByName.get(route.name)),
      ...(traffic && {
        traffic: traffic.get(route.name) ?? { requests: 0, byStatusClass: {}, errors: {} },
      }),
    };
  });
  return { routes, services };
}

/**
 * What the route's plugins say of themselves (the routes `grpc-transcode` made, say), by
 * plugin name; nothing when none does.
 */
function pluginDetails(route: CompiledRoute | undefined) {
  const described = route?.chain?.described;
  if (!described) return {};
  const details: Record<string, Record<string, unknown>> = {};
  for (const [name, hooks] of described) details[name] = hooks.describe!();
  return { pluginDetails: details };
}

function viewService(service: Service): Standing & {
  name: string;
  algorithm: string;
  available: number;
  targets: TargetView[];
} {
  // The admin API asks for a key (or loopback): it shows metadata, redacted.
  const targets = service.targets.map((target) => viewTarget(target, { metadata: true }));
  const available = targets.filter((target) => target.available).length;
  const errors: string[] = [];
  if (targets.length === 0)
    errors.push("no targets (discovery has found none yet, or none are listed)");
  else if (available === 0) {
    const down = targets.filter((target) => target.health === "unhealthy").length;
    const ejected = targets.filter((target) => target.ejected).length;
    const open = targets.filter((target) => target.breaker === "open").length;
    errors.push(
      `no available target: ${down} unhealthy, ${ejected} ejected, ${open} with an open breaker, of ${targets.length}`,
    );
  }
  return {
    name: service.name,
    status: errors.length === 0 ? "serving" : "unavailable",
    errors,
    algorithm: service.config.loadBalancer.algorithm,
    available,
    targets,
  };
}

function pick<T extends { name: string }>(items: T[], kind: string, name: string | undefined): T {
  const found = items.find((item) => item.name === name);
  if (!found)
    throw new GatehouseError("GATEHOUSE_ADMIN_NOT_FOUND", `no ${kind} named "${name}" is serving`);
  return found;
}
