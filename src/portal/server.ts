/**
 * @module portal/server
 * Serves the developer portal on the proxy listeners, before routing: the request handler
 * hands over every request whose target starts with the portal's path (one string check;
 * none when the portal is off). The catalog is built lazily from the runtime serving now
 * and rebuilt when a reload replaced its config; errors are the gateway's JSON errors.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { GatehouseConfig } from "../config/schema/index.ts";
import type { PortalConfig } from "../config/schema/portal.ts";
import type { Logger } from "../observability/logger.ts";
import { hasUnreadBody } from "../proxy/request-body.ts";
import { sendError } from "../proxy/respond.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { assetNamed, assetTag } from "./assets.ts";
import { buildCatalog, type Catalog } from "./catalog.ts";
import { aggregatedDocument, serviceDocument } from "./openapi-document.ts";
import { portalPage } from "./page.ts";

export interface PortalHost {
  runtime(): Pick<Runtime, "config" | "plugins">;
  /** The folder services' `openapi` files are relative to (the config file's). */
  baseDir: string;
  log: Logger;
}

/** The portal of one static config. */
export interface Portal {
  /** Requests whose target starts with this may be the portal's. */
  readonly prefix: string;
  /** Answers the request and returns true when it is the portal's; false leaves it to routing. */
  serve(req: IncomingMessage, res: ServerResponse, requestId: string): boolean;
}

// Swagger UI sets style attributes and draws icons from data: URLs; nothing else is inline.
const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

const commonHeaders = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-resource-policy": "same-origin",
};
const noCache = "no-cache";
const forAYear = "public, max-age=31536000, immutable";

interface Rendered {
  page: string;
  documents: Map<string, string>;
}

export function createPortal(settings: PortalConfig, host: PortalHost): Portal {
  const prefix = settings.path;
  const title = settings.title ?? "API documentation";
  let built: { config: GatehouseConfig; rendered: Promise<Rendered> } | undefined;

  /** The pages of the config serving now, built on first use after each reload. */
  function rendered(): Promise<Rendered> {
    const runtime = host.runtime();
    if (built?.config !== runtime.config) {
      const catalog = buildCatalog(runtime, {
        publish: settings.publish,
        baseDir: host.baseDir,
        log: host.log,
      });
      built = { config: runtime.config, rendered: catalog.then(render) };
      // A failed build is not kept: the next request tries again.
      const attempt = built;
      attempt.rendered.catch(() => {
        if (built === attempt) built = undefined;
      });
    }
    return built.rendered;
  }

  function render(catalog: Catalog): Rendered {
    const info = { title, ...(settings.description && { description: settings.description }) };
    const documents = new Map<string, string>([
      ["", JSON.stringify(aggregatedDocument(catalog, info), null, 2)],
    ]);
    for (const service of catalog.services)
      documents.set(service.name, JSON.stringify(serviceDocument(service), null, 2));
    return { page: portalPage(catalog, { path: prefix, ...info }), documents };
  }

  function send(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    body: string | Buffer,
    contentType: string,
    cacheControl: string,
  ): void {
    const headers: Record<string, string | number> = {
      "content-type": contentType,
      "content-length": Buffer.byteLength(body),
      "cache-control": cacheControl,
      "x-request-id": requestId,
      ...commonHeaders,
    };
    if (contentType.startsWith("text/html"))
      headers["content-security-policy"] = contentSecurityPolicy;
    res.writeHead(200, headers);
    res.end(req.method === "HEAD" ? undefined : body);
  }

  function serve(req: IncomingMessage, res: ServerResponse, requestId: string): boolean {
    const url = req.url!;
    const queryAt = url.indexOf("?");
    const rest = (queryAt === -1 ? url : url.slice(0, queryAt)).slice(prefix.length);
    if (rest !== "" && rest.charCodeAt(0) !== 47) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      // A body the portal never reads would be taken for the next request: close after.
      sendError(res, "GATEHOUSE_METHOD_NOT_ALLOWED", requestId, {
        headers: { allow: "GET, HEAD" },
        close: hasUnreadBody(req),
      });
      return true;
    }
    const asset = /^\/assets\/([^/]+)\/([^/]+)$/.exec(rest);
    if (asset) {
      const found = asset[1] === assetTag ? assetNamed(asset[2]!) : undefined;
      if (found) send(req, res, requestId, found.body, found.contentType, forAYear);
      else sendError(res, "GATEHOUSE_ROUTE_NOT_FOUND", requestId);
      return true;
    }
    const service = /^\/services\/([^/]+)\/openapi\.json$/.exec(rest);
    const document = rest === "/openapi.json" ? "" : service ? decoded(service[1]!) : undefined;
    if (rest !== "" && rest !== "/" && document === undefined) {
      sendError(res, "GATEHOUSE_ROUTE_NOT_FOUND", requestId);
      return true;
    }
    rendered().then(
      (pages) => {
        if (document === undefined)
          return send(req, res, requestId, pages.page, "text/html; charset=utf-8", noCache);
        const json = pages.documents.get(document);
        if (json === undefined) return sendError(res, "GATEHOUSE_ROUTE_NOT_FOUND", requestId);
        send(req, res, requestId, json, "application/json; charset=utf-8", noCache);
      },
      (error: unknown) => {
        host.log.error({ err: error, requestId }, "portal: the catalog could not be built");
        sendError(res, "GATEHOUSE_INTERNAL", requestId);
      },
    );
    return true;
  }

  return { prefix, serve };
}

/** A percent-decoded path segment; undefined when it does not decode. */
function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
