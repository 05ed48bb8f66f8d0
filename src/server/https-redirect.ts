/**
 * @module server/https-redirect
 * What a plaintext listener with `redirectToHttps` answers: every request and upgrade is
 * sent, with a 308 (method and body kept), to the same host and path over HTTPS on the
 * configured port. Nothing is routed or proxied in plain text.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { sendError, writeRawError } from "../proxy/respond.ts";
import type { RequestHandler } from "./request-handler.ts";
import { requestIdOf } from "./request-id.ts";

/** The HTTPS URL for a request's Host and target, or undefined when it has no usable Host. */
export function httpsLocation(
  host: string | undefined,
  target: string,
  port: number,
): string | undefined {
  if (!host) return undefined;
  // The host without its port (an IPv6 literal keeps its brackets).
  const name = /^(\[[^\]]*\]|[^:]*)(?::\d*)?$/.exec(host)?.[1];
  if (!name || /[\s/?#@\\]/.test(name)) return undefined;
  const path = target.startsWith("/") ? target : "/";
  return `https://${name}${port === 443 ? "" : `:${port}`}${path}`;
}

/** A request handler that redirects everything to HTTPS on `port`. */
export function createHttpsRedirect(port: number, base: RequestHandler): RequestHandler {
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const requestId = requestIdOf(req);
    const location = httpsLocation(req.headers.host, req.url ?? "/", port);
    if (!location) return sendError(res, "GATEHOUSE_BAD_HOST", requestId);
    res.writeHead(308, { location, "content-length": 0, "x-request-id": requestId });
    res.end();
  };
  const onUpgrade = (req: IncomingMessage, socket: Duplex) => {
    const location = httpsLocation(req.headers.host, req.url ?? "/", port);
    if (!location) return writeRawError(socket, "GATEHOUSE_BAD_HOST", requestIdOf(req));
    socket.end(
      `HTTP/1.1 308 Permanent Redirect\r\nLocation: ${location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
  };
  return { ...base, onRequest, onUpgrade };
}
