/**
 * @module config/semantics
 * Checks that need the whole config at once, after the schema has passed: unique names,
 * references between resources, and the paths the gateway keeps for itself.
 */
import { closest } from "./suggest.ts";

/** A problem found at a place in the config (a path of keys and indexes). */
export interface PathProblem {
  path: (string | number)[];
  message: string;
  /**
   * Where the problem is when it is in another file the config names (a `.proto` a plugin
   * reads): reported there, the config path it came from in its message.
   */
  at?: { file: string; line: number; col: number };
}

/** `routes[2].plugins[0].config`: a path as the person editing the config reads it. */
export function pathLabel(path: readonly (string | number)[]): string {
  let label = "";
  for (const segment of path)
    label += typeof segment === "number" ? `[${segment}]` : label ? `.${segment}` : segment;
  return label || "(top level)";
}

type Named = { name?: unknown; service?: unknown };

/**
 * Unique service and route names, and every route (and every service the status listener
 * requires for readiness) naming a service that exists. It reads the raw input
 * defensively, so these problems are reported alongside schema ones.
 */
export function checkReferences(input: unknown): PathProblem[] {
  const problems: PathProblem[] = [];
  const section = (key: string): Named[] => {
    const value = (input as Record<string, unknown> | null)?.[key];
    return Array.isArray(value)
      ? value.map((item) => (item && typeof item === "object" ? item : {}))
      : [];
  };
  const services = uniqueNames(section("services"), "services", "service", problems);
  uniqueNames(section("routes"), "routes", "route", problems);
  uniqueNames(section("consumers"), "consumers", "consumer", problems);
  section("routes").forEach((route, index) => {
    if (typeof route.service !== "string" || services.has(route.service)) return;
    const hint = closest(route.service, services.keys());
    problems.push({
      path: ["routes", index, "service"],
      message: `unknown service "${route.service}"${hint ? ` (did you mean "${hint}"?)` : ""}`,
    });
  });
  problems.push(...trafficReferences(section("routes"), services));
  problems.push(...versionsNeedVersioning(input));
  problems.push(...gatewaySettingsNeeded(input));
  problems.push(...portalPathTaken(input));
  requiredServices(input).forEach((name, index) => {
    if (typeof name !== "string" || services.has(name)) return;
    const hint = closest(name, services.keys());
    problems.push({
      path: ["gateway", "status", "requiredServices", index],
      message: `unknown service "${name}"${hint ? ` (did you mean "${hint}"?)` : ""}`,
    });
  });
  return problems;
}

/**
 * Services that use a gateway setting it does not have: registry discovery needs
 * `gateway.registry`, zone-aware balancing needs `gateway.zone`.
 */
function gatewaySettingsNeeded(input: unknown): PathProblem[] {
  const root = input as { gateway?: { registry?: unknown; zone?: unknown }; services?: unknown };
  const gateway = root?.gateway && typeof root.gateway === "object" ? root.gateway : {};
  const services = Array.isArray(root?.services) ? root.services : [];
  const problems: PathProblem[] = [];
  services.forEach((service: unknown, index) => {
    const { discovery, loadBalancer } = (service ?? {}) as {
      discovery?: { registry?: unknown };
      loadBalancer?: { zoneAware?: unknown };
    };
    if (discovery?.registry !== undefined && gateway.registry === undefined)
      problems.push({
        path: ["services", index, "discovery", "registry"],
        message: "registry discovery needs the service registry: set gateway.registry",
      });
    if (loadBalancer?.zoneAware === true && gateway.zone === undefined)
      problems.push({
        path: ["services", index, "loadBalancer", "zoneAware"],
        message: "zone-aware balancing needs this gateway's zone: set gateway.zone",
      });
  });
  return problems;
}

/**
 * Route paths at or under the developer portal's path: the portal answers there before
 * routing, so such a route could never be reached.
 */
function portalPathTaken(input: unknown): PathProblem[] {
  const root = input as { gateway?: { portal?: { path?: unknown } }; routes?: unknown } | null;
  const portal = root?.gateway?.portal;
  if (!portal || typeof portal !== "object") return [];
  const reserved = typeof portal.path === "string" ? portal.path : "/docs";
  const routes = Array.isArray(root?.routes) ? root.routes : [];
  const problems: PathProblem[] = [];
  routes.forEach((route: unknown, index) => {
    const paths = (route as { match?: { paths?: unknown } } | null)?.match?.paths;
    if (!Array.isArray(paths)) return;
    paths.forEach((path: unknown, at) => {
      if (typeof path !== "string") return;
      if (path !== reserved && !path.startsWith(`${reserved}/`)) return;
      problems.push({
        path: ["routes", index, "match", "paths", at],
        message: `"${path}" is the developer portal's (gateway.portal.path is "${reserved}"): give the route another path, or the portal another path`,
      });
    });
  });
  return problems;
}

/** Each service a route's `split` entries and `mirror` name must exist. */
function trafficReferences(routes: readonly Named[], services: Map<string, number>): PathProblem[] {
  const problems: PathProblem[] = [];
  const check = (name: unknown, path: (string | number)[]) => {
    if (typeof name !== "string" || services.has(name)) return;
    const hint = closest(name, services.keys());
    problems.push({
      path,
      message: `unknown service "${name}"${hint ? ` (did you mean "${hint}"?)` : ""}`,
    });
  };
  routes.forEach((route, index) => {
    const { split, mirror } = route as { split?: unknown; mirror?: { service?: unknown } };
    if (Array.isArray(split))
      split.forEach((entry: { service?: unknown } | null, at) => {
        check(entry?.service, ["routes", index, "split", at, "service"]);
      });
    if (mirror && typeof mirror === "object")
      check(mirror.service, ["routes", index, "mirror", "service"]);
  });
  return problems;
}

/** A route's `match.version` means nothing unless `gateway.versioning` says where versions are. */
function versionsNeedVersioning(input: unknown): PathProblem[] {
  const root = input as { gateway?: { versioning?: unknown }; routes?: unknown } | null;
  if (root?.gateway?.versioning !== undefined || !Array.isArray(root?.routes)) return [];
  const problems: PathProblem[] = [];
  root.routes.forEach((route: { match?: { version?: unknown } } | null, index) => {
    if (route?.match?.version !== undefined)
      problems.push({
        path: ["routes", index, "match", "version"],
        message:
          "a route version needs to know where requests name theirs: set gateway.versioning (header, accept, path or query)",
      });
  });
  return problems;
}

/** `gateway.status.requiredServices` as written, or none. */
function requiredServices(input: unknown): unknown[] {
  const gateway = (input as { gateway?: { status?: { requiredServices?: unknown } } } | null)
    ?.gateway;
  const names = gateway?.status?.requiredServices;
  return Array.isArray(names) ? names : [];
}

function uniqueNames(
  items: readonly Named[],
  section: string,
  noun: string,
  problems: PathProblem[],
): Map<string, number> {
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    if (typeof item.name !== "string") return;
    const first = seen.get(item.name);
    if (first === undefined) seen.set(item.name, index);
    else
      problems.push({
        path: [section, index, "name"],
        message: `duplicate ${noun} name "${item.name}" (first used at ${section}[${first}])`,
      });
  });
  return seen;
}
