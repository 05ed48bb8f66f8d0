/**
 * @module server/admission
 * The first steps every request and upgrade takes: framing checks → path normalisation →
 * routing; and the shapes the request handler admits them with (see admit()).
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { GatehouseConfig } from "../config/schema/index.ts";
import type { ErrorCode } from "../errors.ts";
import type { RequestContext } from "../pipeline/context.ts";
import { type NormalizeOptions, normalizePath } from "../proxy/normalize-path.ts";
import { compileVersionReader } from "../router/api-version.ts";
import type { RouteHit } from "../router/route-table.ts";
import type { CompiledRoute, Runtime } from "../runtime/runtime.ts";
import { checkFraming } from "./framing.ts";

/** A request that passed the edge checks and matched a route. */
export interface Routed {
  match: RouteHit<CompiledRoute>;
  authority: string;
  /** Normalised path, without the query. */
  path: string;
  /** The query with its `?`, or empty. */
  query: string;
  /** The API version the request asked for (or the default), with `gateway.versioning` on. */
  version: string | undefined;
  /** An OPTIONS preflight let in only for the route's plugins to answer: never forwarded. */
  preflight: boolean;
  /** The services of the runtime that routed it, for a plugin that picks another. */
  services: Runtime["services"];
}

/**
 * How one kind of request is answered once admitted: a plain HTTP request through its
 * response, a WebSocket upgrade on its raw socket. One static object per kind, so that
 * admitting a request allocates nothing for it.
 */
export interface Answering<E> {
  /** A routed request goes on only if this says so (it answered the client otherwise). */
  accept(exchange: E, routed: Routed, requestId: string): boolean;
  /** After request hooks that waited: false when the exchange ended meanwhile. */
  resume(exchange: E, ctx: RequestContext): boolean;
  /** The plugins' answer, or on to the upstream. */
  proceed(
    req: IncomingMessage,
    exchange: E,
    requestId: string,
    routed: Routed,
    ctx: RequestContext | undefined,
    fail: (code: ErrorCode) => undefined,
  ): void;
  /** A request hook (or what followed it) threw. */
  internalError(exchange: E, requestId: string, error: unknown): void;
  /** Calls `ended` once the exchange is over, however it ended (response or socket closed). */
  whenEnded(exchange: E, ended: () => void): void;
}

/** A WebSocket upgrade: the client's socket and what it sent past the request head. */
export interface Upgrade {
  socket: Duplex;
  head: Buffer;
}

/** Answers the client with an error (its headers, and a message other than the catalogue's) and returns undefined. */
export type Fail = (
  code: ErrorCode,
  headers?: Record<string, string>,
  message?: string,
) => undefined;

/** Builds the routing step for one static config, routing on the runtime serving now. */
export function createRequestRouter(
  settings: GatehouseConfig["gateway"],
  host: { runtime(): Runtime },
) {
  const limits = settings.limits;
  const normalize: NormalizeOptions = settings.paths;
  const readVersion = compileVersionReader(settings.versioning);

  /** Checks and routes a request; answers the client itself and returns undefined when it cannot. */
  function routeOf(req: IncomingMessage, fail: Fail): Routed | undefined {
    const framing = checkFraming(req, limits);
    if (framing) return fail(framing);

    const runtime = host.runtime();
    let target = req.url!;
    let authority = req.headers.host ?? "";
    if (target.charCodeAt(0) !== 47) {
      const absolute = /^https?:\/\/([^/?#]+)(.*)$/i.exec(target);
      if (!absolute) return fail("GATEHOUSE_BAD_PATH");
      authority = absolute[1]!;
      if (!runtime.routes.servesHost(hostName(authority))) return fail("GATEHOUSE_BAD_HOST");
      target = absolute[2]!.startsWith("/") ? absolute[2]! : `/${absolute[2]}`;
    }
    const queryAt = target.indexOf("?");
    const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
    const query = queryAt === -1 ? "" : target.slice(queryAt);
    let path = normalizePath(rawPath, normalize);
    if (path === null) return fail("GATEHOUSE_BAD_PATH");
    let version: string | undefined;
    if (readVersion) {
      const asked = readVersion(path, req.headers, query.slice(1));
      version = asked.version;
      path = asked.path;
    }

    const name = hostName(authority);
    let match = runtime.routes.match(req.method!, name, path, req.headers, query.slice(1), version);
    let preflight = false;
    if (match.kind === "method-not-allowed" && req.method === "OPTIONS") {
      // A CORS preflight for a route whose methods leave out OPTIONS: offered to the route
      // that would serve the request it asks about, so its plugins (cors) can answer it.
      const asked = req.headers["access-control-request-method"];
      const target =
        typeof asked === "string" && req.headers.origin !== undefined
          ? runtime.routes.match(
              asked.toUpperCase(),
              name,
              path,
              req.headers,
              query.slice(1),
              version,
            )
          : undefined;
      if (target?.kind === "route" && target.value.chain) {
        match = target;
        preflight = true;
      }
    }
    if (match.kind === "not-found") return fail("GATEHOUSE_ROUTE_NOT_FOUND");
    if (match.kind === "version-not-found") {
      const asked =
        version === undefined
          ? "The request names no API version"
          : `API version ${version.slice(0, 64)} is not served here`;
      return fail(
        "GATEHOUSE_VERSION_NOT_FOUND",
        undefined,
        `${asked}; served versions: ${match.versions.join(", ")}`,
      );
    }
    if (match.kind === "method-not-allowed")
      return fail("GATEHOUSE_METHOD_NOT_ALLOWED", { allow: match.allow });

    const length = req.headers["content-length"];
    if (limits.maxBodySize > 0 && length !== undefined && Number(length) > limits.maxBodySize) {
      return fail("GATEHOUSE_BODY_TOO_LARGE");
    }
    return { match, authority, path, query, version, preflight, services: runtime.services };
  }
  return routeOf;
}

/** Lower-case host name without port or trailing dot: `Example.COM:8080` → `example.com`. */
export function hostName(authority: string): string {
  let end = authority.length;
  if (authority.charCodeAt(0) === 91 /* [ */) end = authority.indexOf("]") + 1 || end;
  else {
    const colon = authority.lastIndexOf(":");
    if (colon !== -1) end = colon;
  }
  if (authority.charCodeAt(end - 1) === 46) end--;
  const name = authority.slice(0, end);
  return /[A-Z]/.test(name) ? name.toLowerCase() : name;
}
