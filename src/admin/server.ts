/**
 * @module admin/server
 * The admin API listener (`gateway.admin`): its own port, loopback by default, a key
 * required when configured (and always off loopback), and nothing a web page can use
 * (server/browser-guard: Host, Origin and Content-Type). Routes the REST resources, the
 * config and its versions, its schema and dry run, the runtime view, the audit trail, the
 * request stats, cache purges and `/openapi.json`, and the service registry's API unless it has a
 * listener of its own; every answer is JSON (or an event stream: the stats', a registry
 * watch's), every error the gateway's error shape with a request id. Also serves the
 * dashboard's files under `/ui/` (admin/dashboard-files), which ask for no key.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import FindMyWay from "find-my-way";
import type { GatehouseConfig } from "../config/schema/index.ts";
import { GatehouseError } from "../errors.ts";
import type { AuditTrail } from "../observability/audit-log.ts";
import type { Logger } from "../observability/logger.ts";
import type { RouteTraffic } from "../observability/request-metrics.ts";
import { bucketOf, type WindowSnapshot } from "../observability/request-window.ts";
import type { RegistryApi } from "../registry/api.ts";
import type { ControlPlane } from "../runtime/control-plane.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { answerApiError } from "../server/api-error.ts";
import { createBrowserGuard } from "../server/browser-guard.ts";
import { newRequestId } from "../server/request-id.ts";
import { auditRoutes } from "./audit-api.ts";
import { createAdminAuth } from "./auth.ts";
import { cacheRoutes, type PurgeCache } from "./cache-api.ts";
import { configRoutes } from "./config-api.ts";
import { configCheckRoutes } from "./config-check-api.ts";
import type { AdminContext, AdminRoute } from "./context.ts";
import { serveDashboard } from "./dashboard-files.ts";
import { readBody, readText, sendJson } from "./http.ts";
import { openApiDocument } from "./openapi.ts";
import { resourceRoutes } from "./resources.ts";
import { runtimeRoutes } from "./runtime-view.ts";
import { statsRoutes } from "./stats-api.ts";

type AdminSettings = NonNullable<GatehouseConfig["gateway"]["admin"]>;

export interface AdminServerOptions {
  settings: AdminSettings;
  control: ControlPlane;
  runtime(): Runtime;
  /** Each route's answers since start, for the runtime view; absent when metrics are off. */
  /** Each route's answers (from the worker threads' counters, when they serve). */
  traffic?: () => Map<string, RouteTraffic> | Promise<Map<string, RouteTraffic>>;
  /** The service registry's API, when this listener serves it (under `/registry/`). */
  registry?: RegistryApi | undefined;
  /** The request window of every thread that serves (`GET /stats`); absent when metrics are off. */
  window?: () => Promise<WindowSnapshot>;
  /** The audit trail (`GET /audit`). */
  audit: AuditTrail;
  /** Aborted when the gateway begins to stop: the stats streams end. */
  closing: AbortSignal;
  /** Removes the cache plugin's entries of this gateway (`DELETE /cache`). */
  purgeCache?: PurgeCache;
  log: Logger;
}

/** Creates (not yet listening) the admin server. */
export function createAdminServer(options: AdminServerOptions): Server {
  const { settings, control, log } = options;
  const authenticate = createAdminAuth(settings.keys);
  const guard = createBrowserGuard({
    setting: "gateway.admin",
    allowedHosts: settings.allowedHosts,
    allowedOrigins: settings.allowedOrigins,
  });
  const router = FindMyWay<FindMyWay.HTTPVersion.V1>({ ignoreTrailingSlash: true });
  for (const route of adminRoutes()) router.on(route.method, route.path, () => {}, { route });

  return createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = newRequestId();
    res.setHeader("x-request-id", requestId);
    res.setHeader("cache-control", "no-store");
    try {
      // Before the key: a page's request is refused whether or not it guessed one.
      const refusal = guard.check(req);
      if (refusal) throw new GatehouseError(refusal.code, refusal.message);
      const preflight = req.method === "OPTIONS" && "access-control-request-method" in req.headers;
      const cors = guard.cors(req, preflight);
      if (preflight) {
        if (!cors)
          throw new GatehouseError(
            "GATEHOUSE_ORIGIN_NOT_ALLOWED",
            `a page from ${req.headers.origin ?? "no origin"} may not call the admin API (allow it in gateway.admin.allowedOrigins)`,
          );
        res.writeHead(204, cors).end();
        return;
      }
      for (const [name, value] of Object.entries(cors ?? {})) res.setHeader(name, value!);
      const [path = "/", search = ""] = (req.url ?? "/").split("?", 2);
      // The dashboard's files need no key: the page asks for one and sends it with each call.
      if (serveDashboard(req, res, path)) return;
      // The registry API asks for its own keys (admin keys among them).
      if (options.registry?.handles(path)) {
        await options.registry.handle(req, res);
        return;
      }
      const caller = authenticate(req);
      if (!caller)
        throw new GatehouseError("GATEHOUSE_ADMIN_UNAUTHORIZED", undefined, {
          headers: { "www-authenticate": 'Bearer realm="gatehouse-admin"' },
        });
      const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");
      const found = router.find(method as FindMyWay.HTTPMethod, path);
      if (!found) throw notFound(router, path);
      const { route } = found.store as { route: AdminRoute };
      if (caller.readOnly && route.method !== "GET" && !route.changesNothing)
        throw new GatehouseError(
          "GATEHOUSE_ADMIN_FORBIDDEN",
          `admin key "${caller.actor}" is read-only`,
        );
      const ctx: AdminContext = {
        req,
        res,
        params: found.params,
        query: new URLSearchParams(search),
        caller,
        requestId,
        control,
        runtime: options.runtime,
        traffic: options.traffic,
        body: () => readBody(req, settings.maxBodySize),
        text: () => readText(req, settings.maxBodySize),
        window: async () => (await options.window?.()) ?? { end: bucketOf(Date.now()), series: [] },
        audit: options.audit,
        closing: options.closing,
        purgeCache: options.purgeCache,
      };
      await route.handle(ctx);
    } catch (error) {
      answerApiError("admin API", req, res, error, requestId, log);
    }
  });
}

/** Every method and path the admin API serves (the OpenAPI document describes each). */
export function adminRoutes(): AdminRoute[] {
  return [
    ...resourceRoutes(),
    ...configRoutes(),
    ...configCheckRoutes(),
    ...runtimeRoutes(),
    ...statsRoutes(),
    ...auditRoutes(),
    ...cacheRoutes(),
    {
      method: "GET",
      path: "/openapi.json",
      handle: (ctx) => sendJson(ctx.res, 200, openApiDocument()),
    },
  ];
}

/** 404 for an unknown path, 405 (with Allow) for a known path and another method. */
function notFound(
  router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>,
  path: string,
): GatehouseError {
  const allowed = (["GET", "POST", "PUT", "PATCH", "DELETE"] as const).filter((method) =>
    router.find(method, path),
  );
  if (allowed.length === 0)
    return new GatehouseError(
      "GATEHOUSE_ADMIN_NOT_FOUND",
      `no admin API path ${path} (see GET /openapi.json)`,
    );
  return new GatehouseError(
    "GATEHOUSE_METHOD_NOT_ALLOWED",
    `${path} accepts ${allowed.join(", ")}`,
    {
      headers: { allow: allowed.join(", ") },
    },
  );
}
