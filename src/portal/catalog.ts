/**
 * @module portal/catalog
 * The developer portal's catalog of one config: the published routes grouped by service,
 * each service's operations at gateway paths and the components they refer to. Where a
 * service's operations come from, first that exists: (1) its own OpenAPI document mapped
 * through the routes (portal/upstream-paths), (2) the `openapi()` of plugins on its
 * published routes, (3) the routes themselves (portal/route-operations). Built off the
 * request path, once per config (portal/server keeps it).
 */
import type { GatehouseConfig, RouteConfig, ServiceConfig } from "../config/schema/index.ts";
import type { Logger } from "../observability/logger.ts";
import type { PluginInstances } from "../runtime/plugin-instances.ts";
import type { OpenApiPathItem, OpenApiSchema } from "./openapi-fragment.ts";
import { rateLimitSentence } from "./rate-limits.ts";
import { publishedOperation, type RouteAccess, routeAccess, takesMethod } from "./route-access.ts";
import { openApiPath, routeOperations } from "./route-operations.ts";
import { routePlugins } from "./route-plugins.ts";
import type { SecurityScheme } from "./security.ts";
import { loadServiceDocument, type OpenApiDocument } from "./service-document.ts";
import { gatewayPathsOf } from "./upstream-paths.ts";

/** A published route, as the page lists it. */
export interface CatalogRoute {
  name: string;
  /** Upper-case; empty: any method. */
  methods: string[];
  /** Gateway paths in OpenAPI form. */
  paths: string[];
  auth: string[];
  limits: string[];
}

export interface CatalogService {
  name: string;
  title: string;
  description?: string;
  /** The service document's `info.version`, when it has one. */
  version?: string;
  routes: CatalogRoute[];
  paths: Record<string, OpenApiPathItem>;
  /** Components the operations refer to (`schemas`, `parameters`, ...), by kind. */
  components: Record<string, Record<string, OpenApiSchema>>;
  securitySchemes: Record<string, SecurityScheme>;
  /** Why the service's own document (or a plugin's description) could not be used. */
  error?: string;
}

export interface Catalog {
  services: CatalogService[];
}

export interface CatalogSource {
  config: GatehouseConfig;
  plugins: Pick<PluginInstances, "hooksOf">;
}

export interface CatalogOptions {
  publish: "marked" | "all";
  /** The folder a service's `openapi` file is relative to (the config file's). */
  baseDir: string;
  log?: Logger;
}

const pathItemMethods = ["get", "put", "post", "delete", "patch", "trace"];

/** Builds the catalog of what `source.config` publishes. Never throws for one service's fault. */
export async function buildCatalog(
  source: CatalogSource,
  options: CatalogOptions,
): Promise<Catalog> {
  const { config } = source;
  const published = config.routes.filter((route) => options.publish === "all" || route.portal);
  const services: CatalogService[] = [];
  for (const service of config.services) {
    // Most specific first, as the router prefers them when two routes take one path.
    const routes = published
      .filter((route) => route.service === service.name)
      .sort((a, b) => b.priority - a.priority);
    if (routes.length > 0) services.push(await serviceEntry(source, service, routes, options));
  }
  return { services };
}

async function serviceEntry(
  source: CatalogSource,
  service: ServiceConfig,
  routes: RouteConfig[],
  options: CatalogOptions,
): Promise<CatalogService> {
  const entry: CatalogService = {
    name: service.name,
    title: service.title ?? service.name,
    ...(service.description && { description: service.description }),
    routes: [],
    paths: {},
    components: {},
    securitySchemes: {},
  };
  const accesses = routes.map((route) => routeAccess(source.config, route));
  routes.forEach((route, i) => {
    entry.routes.push(catalogRoute(route, accesses[i]!));
    Object.assign(entry.securitySchemes, accesses[i]!.security.schemes);
  });
  const add = (path: string, method: string, operation: Record<string, unknown>, at: number) => {
    const item = entry.paths[path] ?? {};
    entry.paths[path] = item;
    item[method] ??= publishedOperation(operation, accesses[at]!, service.name);
  };
  if (service.openapi) {
    try {
      const document = await loadServiceDocument(service.openapi, options.baseDir);
      fromDocument(document, routes, accesses, add);
      const { securitySchemes: _theirs, ...components } = document.components ?? {};
      entry.components = components as CatalogService["components"];
      const version = (document.info as { version?: unknown } | undefined)?.version;
      if (typeof version === "string") entry.version = version;
      return entry;
    } catch (error) {
      entry.error = `The service's OpenAPI document ${(error as Error).message}.`;
      options.log?.warn(
        { service: service.name, source: service.openapi, err: error },
        "portal: a service's OpenAPI document could not be used",
      );
    }
  }
  for (const [at, route] of routes.entries()) {
    const described = await fromPlugins(source, route, entry, options);
    for (const [path, item] of Object.entries(described))
      for (const [method, operation] of Object.entries(item)) add(path, method, operation, at);
    // A gRPC route no plugin describes takes gRPC, which an HTTP operation would misstate.
    if (Object.keys(described).length > 0 || service.protocol === "grpc") continue;
    for (const { path, method, operation } of routeOperations(route)) {
      operation.operationId = `${route.name}.${method}${path.replace(/[^A-Za-z0-9]+/g, "_")}`;
      add(path, method, operation, at);
    }
  }
  return entry;
}

/** Operations of the service's document at the gateway paths the routes serve them at. */
function fromDocument(
  document: OpenApiDocument,
  routes: readonly RouteConfig[],
  accesses: readonly RouteAccess[],
  add: (path: string, method: string, operation: Record<string, unknown>, at: number) => void,
): void {
  for (const [upstreamPath, item] of Object.entries(document.paths ?? {})) {
    if (!item || typeof item !== "object") continue;
    const shared = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of pathItemMethods) {
      const operation = item[method] as Record<string, unknown> | undefined;
      if (!operation || typeof operation !== "object") continue;
      const own = Array.isArray(operation.parameters) ? operation.parameters : [];
      const parameters = mergeParameters(shared, own);
      routes.forEach((route, at) => {
        if (!takesMethod(accesses[at]!, method)) return;
        for (const path of gatewayPathsOf(upstreamPath, route))
          add(path, method, { ...operation, ...(parameters.length > 0 && { parameters }) }, at);
      });
    }
  }
}

/** Path-level parameters with the operation's own, which win by name and place. */
function mergeParameters(shared: unknown[], own: unknown[]): unknown[] {
  const key = (p: unknown) => {
    const { name, in: place, $ref } = (p ?? {}) as Record<string, unknown>;
    return typeof $ref === "string" ? $ref : `${place}:${name}`;
  };
  const ownKeys = new Set(own.map(key));
  return [...shared.filter((p) => !ownKeys.has(key(p))), ...own];
}

/** What the route's plugins describe (`openapi()`); their schemas go to the entry's. */
async function fromPlugins(
  source: CatalogSource,
  route: RouteConfig,
  entry: CatalogService,
  options: CatalogOptions,
): Promise<Record<string, OpenApiPathItem>> {
  const paths: Record<string, OpenApiPathItem> = {};
  for (const plugin of routePlugins(source.config, route)) {
    const hooks = source.plugins.hooksOf(plugin);
    if (!hooks?.openapi) continue;
    try {
      const fragment = await hooks.openapi();
      for (const [path, item] of Object.entries(fragment.paths ?? {}))
        paths[path] = { ...paths[path], ...item };
      if (fragment.schemas)
        entry.components.schemas = { ...entry.components.schemas, ...fragment.schemas };
    } catch (error) {
      entry.error = `The ${plugin.name} plugin could not describe route ${route.name}.`;
      options.log?.warn(
        { route: route.name, plugin: plugin.name, err: error },
        "portal: openapi() failed",
      );
    }
  }
  return paths;
}

function catalogRoute(route: RouteConfig, access: RouteAccess): CatalogRoute {
  return {
    name: route.name,
    methods: [...(route.match.methods ?? [])],
    paths: route.match.paths.map((path) => openApiPath(path).path),
    auth: access.security.labels,
    limits: access.limits.map(rateLimitSentence),
  };
}
