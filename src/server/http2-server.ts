/**
 * @module server/http2-server
 * The HTTP/2 side of a listener with `http2: true`: a node:http2 server that never listens
 * itself but is handed the connections that speak HTTP/2 (chosen by ALPN on TLS, by the
 * connection preface in plain text: server/proxy-listener.ts). Its streams reach the same
 * request handler as HTTP/1.1 requests, through Node's compatibility API.
 */
import type { IncomingMessage } from "node:http";
import { createServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import type { GatehouseConfig } from "../config/schema/index.ts";
import type { GatewayResponse } from "./exchange.ts";
import { Http2GatewayRequest, Http2GatewayResponse } from "./http2-exchange.ts";
import { type Http2CloseReason, watchSession } from "./http2-sessions.ts";
import type { RequestHandler } from "./request-handler.ts";

type Limits = GatehouseConfig["gateway"]["limits"];

/**
 * How far past `maxHeaderSize` and `maxHeaderCount` nghttp2 still takes a header list, so
 * that the gateway sees the request and answers 431 in JSON; beyond that the stream is
 * reset (ENHANCE_YOUR_CALM) before it becomes a request.
 */
const headerListHeadroom = 2;
/** The pseudo-headers a request carries besides its fields (`:method`, `:path`, …). */
const pseudoHeaders = 4;

/** Creates the HTTP/2 server of one listener (not listening: see handOver). */
export function createHttp2Server(
  limits: Limits,
  handler: RequestHandler,
  closed: (reason: Http2CloseReason) => void,
): Http2Server {
  const http2 = limits.http2;
  const server = createServer({
    settings: {
      maxConcurrentStreams: http2.maxConcurrentStreams,
      maxHeaderListSize: limits.maxHeaderSize * headerListHeadroom,
      enablePush: false,
    },
    maxHeaderListPairs: (limits.maxHeaderCount + pseudoHeaders) * headerListHeadroom,
    // nghttp2's own reset limit (a token bucket, 1000 at once then 33 a second by default)
    // sees a burst read at once, before Node announces its streams: kept as a backstop
    // over the gateway's per-second count (server/http2-sessions.ts).
    ...(http2.maxResetsPerSecond > 0 && {
      streamResetBurst: Math.max(1000, 2 * http2.maxResetsPerSecond),
      streamResetRate: Math.max(33, http2.maxResetsPerSecond),
    }),
    maxSessionRejectedStreams: http2.maxRefusedStreams,
    maxSessionInvalidFrames: http2.maxInvalidFrames,
    Http2ServerRequest: Http2GatewayRequest as never,
    Http2ServerResponse: Http2GatewayResponse as never,
  });
  // The compatibility API makes a stream's request and response look like HTTP/1.1's: the
  // request path uses only what both have (see server/http2-exchange.ts).
  const onRequest = (req: Http2GatewayRequest, res: Http2GatewayResponse) => {
    const request = req as unknown as IncomingMessage;
    const response = res as unknown as GatewayResponse;
    if (req.headerListSize > limits.maxHeaderSize)
      handler.refuse(request, response, "GATEHOUSE_HEADERS_TOO_LARGE");
    else handler.onRequest(request, response);
  };
  server.on("request", onRequest);
  server.on("checkContinue", onRequest);
  // CONNECT tunnels are not a gateway's job, over HTTP/2 either.
  server.on("connect", (req: Http2GatewayRequest, res: Http2GatewayResponse) =>
    handler.refuse(
      req as unknown as IncomingMessage,
      res as unknown as GatewayResponse,
      "GATEHOUSE_METHOD_NOT_ALLOWED",
    ),
  );
  server.on("session", (session: ServerHttp2Session) =>
    watchSession(session, http2, limits.keepAliveTimeout, closed),
  );
  return server;
}

/** Serves an accepted connection that speaks HTTP/2 (TLS with ALPN h2, or h2c). */
export function handOver(server: Http2Server, socket: unknown): void {
  server.emit("connection", socket);
}
