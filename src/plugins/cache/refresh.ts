/**
 * @module plugins/cache/refresh
 * Background refreshes for stale-while-revalidate: the stale entry is served, and the
 * request is made again, once per key at a time, through the gateway's own listener it
 * came in on. Going through the gateway keeps the route's whole path (its plugins, the
 * service's selection, retries and breakers) without a second copy of it; the cache
 * plugin knows the refresh by a header whose value is a secret of this process, so a
 * client cannot ask for one.
 */
import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { TLSSocket } from "node:tls";
import { Agent, request } from "undici";
import type { RequestContext } from "../../pipeline/context.ts";

/** Marks a refresh request; its value is `refreshToken`. */
export const refreshHeader = "x-gatehouse-cache-refresh";
export const refreshToken = randomBytes(18).toString("base64url");

/** Request headers a refresh does not repeat: its own conditions, and connection ones. */
const dropped = new Set([
  "if-none-match",
  "if-modified-since",
  "cache-control",
  "pragma",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "upgrade",
  "te",
]);

// The gateway's own listener: its certificate is for clients, not checked here.
const loopback = new Agent({ connect: { rejectUnauthorized: false }, keepAliveTimeout: 4_000 });

const refreshTimeoutMs = 30_000;

export class BackgroundRefresh {
  readonly #running = new Set<string>();

  /** Starts a refresh of `key` from `ctx`'s request, unless one is running. */
  start(key: string, ctx: RequestContext, onError: (error: Error) => void): void {
    if (this.#running.has(key)) return;
    this.#running.add(key);
    const socket = ctx.req.socket;
    const tls = (socket as TLSSocket).encrypted === true;
    const host = socket.localAddress?.includes(":")
      ? `[${socket.localAddress}]`
      : socket.localAddress;
    const origin = `${tls ? "https" : "http"}://${host}:${socket.localPort}`;
    const headers: IncomingHttpHeaders = {};
    for (const name in ctx.headers) {
      if (!dropped.has(name) && name.charCodeAt(0) !== 58) headers[name] = ctx.headers[name];
    }
    headers.host ??= ctx.headers[":authority"] as string | undefined;
    headers[refreshHeader] = refreshToken;
    const path = ctx.query === "" ? ctx.path : `${ctx.path}?${ctx.query}`;
    request(`${origin}${path}`, {
      method: "GET",
      headers: headers as Record<string, string>,
      dispatcher: loopback,
      headersTimeout: refreshTimeoutMs,
      bodyTimeout: refreshTimeoutMs,
    })
      .then((response) => response.body.dump())
      .catch(onError)
      .finally(() => this.#running.delete(key));
  }
}
