/**
 * @module server/proxy-listener
 * A proxy listener's HTTP or HTTPS server: Node's parser limits and header deadline set from
 * `gateway.limits`, the request handler on every event it answers (requests,
 * 100-continue, upgrades), CONNECT refused, and parser errors answered in JSON with the
 * right status before the close. With `http2`, the connections that speak HTTP/2 (ALPN
 * `h2`, or the h2c preface in plain text) are handed to the listener's HTTP/2 server.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Http2Server } from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { GatehouseConfig } from "../config/schema/index.ts";
import type { ErrorCode } from "../errors.ts";
import { writeRawError } from "../proxy/respond.ts";
import type { ListenerCertificates } from "../tls/listener-certificates.ts";
import { GatewayResponse } from "./exchange.ts";
import { createHttp2Server, handOver } from "./http2-server.ts";
import type { Http2CloseReason } from "./http2-sessions.ts";
import { sniffPreface } from "./preface-sniff.ts";
import { timeoutCheckInterval } from "./request-body-watch.ts";
import type { RequestHandler } from "./request-handler.ts";
import { newRequestId, requestIdOf } from "./request-id.ts";

type Limits = GatehouseConfig["gateway"]["limits"];

/** A proxy listener's servers. */
export interface ProxyListener {
  /** The server that listens, and serves HTTP/1.1. */
  server: Server;
  /** With `http2: true`, the server its HTTP/2 connections are handed to. */
  http2: Http2Server | undefined;
}

export interface ProxyListenerOptions {
  /** TLS listeners: their certificates. */
  certificates?: ListenerCertificates | undefined;
  /** Serve HTTP/2 too; told why the gateway closed an HTTP/2 connection (the metric). */
  http2?: { closed(reason: Http2CloseReason): void } | undefined;
}

/**
 * Creates (not yet listening) one proxy listener's server: HTTPS with `certificates`,
 * else plain HTTP; with `http2`, HTTP/2 on the same port.
 */
export function createProxyServer(
  limits: Limits,
  handler: RequestHandler,
  { certificates, http2 }: ProxyListenerOptions = {},
): ProxyListener {
  const options = {
    maxHeaderSize: limits.maxHeaderSize,
    requireHostHeader: false,
    headersTimeout: limits.requestHeadersTimeout,
    // Node checks its header deadline on this interval (30 s unless set): a client could
    // trickle headers for up to twice requestHeadersTimeout.
    connectionsCheckingInterval: timeoutCheckInterval(limits),
    // Node's own whole-request deadline would cut long uploads that keep sending: the
    // body has its own timeouts (server/request-body-watch.ts), which answer 408 on the
    // request, abort its upstream try and are counted per route.
    requestTimeout: 0,
    keepAliveTimeout: limits.keepAliveTimeout,
    shouldUpgradeCallback: handler.shouldUpgrade,
    ServerResponse: GatewayResponse,
  };
  let server: Server;
  if (certificates) {
    const secure = createHttpsServer(
      {
        ...options,
        ...certificates.serverOptions(),
        ...(http2 && { ALPNProtocols: ["h2", "http/1.1"] }),
        // A client that connects and never finishes its handshake holds a socket as long.
        handshakeTimeout: limits.requestHeadersTimeout,
      },
      handler.onRequest,
    );
    certificates.attach(secure);
    // An https.Server is an http.Server over TLS: the same methods and events.
    server = secure as unknown as Server;
  } else server = createServer(options, handler.onRequest);
  // One more than the limit, so a request over it is seen (Node silently drops the rest).
  server.maxHeadersCount = limits.maxHeaderCount + 1;
  server.on("checkContinue", handler.onRequest);
  server.on("upgrade", handler.onUpgrade);
  // A forward proxy's CONNECT tunnels are not a gateway's job.
  server.on("connect", (req: IncomingMessage, socket: Duplex) =>
    writeRawError(socket, "GATEHOUSE_METHOD_NOT_ALLOWED", requestIdOf(req)),
  );
  server.on("clientError", (error: ParserError, socket: Duplex) => {
    if (error.code === "ERR_HTTP_REQUEST_TIMEOUT") handler.headersTooSlow();
    onClientError(error, socket, limits.maxUriLength);
  });
  if (!http2) return { server, http2: undefined };
  const h2 = createHttp2Server(limits, handler, http2.closed);
  if (certificates) serveAlpnH2(server, h2);
  else serveH2c(server, h2, handler, limits.requestHeadersTimeout);
  return { server, http2: h2 };
}

/** The server's own handler of `event`, taken off so a dispatcher can call it instead. */
function takeListener(server: Server, event: string): (this: Server, socket: Socket) => void {
  const listeners = server.rawListeners(event);
  if (listeners.length !== 1) throw new Error(`expected one ${event} listener on a fresh server`);
  const serve = listeners[0] as (this: Server, socket: Socket) => void;
  server.removeListener(event, serve);
  return serve;
}

/** TLS: the client chose the protocol by ALPN during the handshake. */
function serveAlpnH2(server: Server, h2: Http2Server): void {
  const serve = takeListener(server, "secureConnection");
  server.on("secureConnection", function alpn(this: Server, socket: TLSSocket) {
    if (socket.alpnProtocol === "h2") handOver(h2, socket);
    else serve.call(this, socket);
  });
}

/** Plain text: HTTP/2 with prior knowledge starts with the connection preface. */
function serveH2c(server: Server, h2: Http2Server, handler: RequestHandler, timeout: number): void {
  const serve = takeListener(server, "connection");
  server.on(
    "connection",
    sniffPreface({
      http1: (socket) => serve.call(server, socket),
      http2: (socket) => handOver(h2, socket),
      tooSlow(socket) {
        handler.headersTooSlow();
        writeRawError(socket, "GATEHOUSE_REQUEST_TIMEOUT", newRequestId());
      },
      timeout,
    }),
  );
}

/**
 * Listens on `port` (0: a free one); with `reusePort`, beside other sockets bound to the
 * same port with it (server/worker-pool.ts: the kernel spreads connections over them).
 */
export function listen(
  server: Server,
  port: number,
  host: string,
  reusePort = false,
): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, reusePort }, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/**
 * The port each listener's workers will share: bound with reusePort and let go at once, so
 * a port 0 becomes one port for all of them and a port in use fails before any thread runs.
 * Not held while the workers start: a listening socket is handed connections it would never
 * answer. A string when the platform has no SO_REUSEPORT (Node refuses the option there).
 */
export async function sharedPorts(
  listeners: readonly { host: string; port: number }[],
): Promise<number[] | string> {
  const ports: number[] = [];
  for (const listener of listeners) {
    const probe = createServer();
    try {
      await listen(probe, listener.port, listener.host, true);
      ports.push((probe.address() as AddressInfo).port);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "ERR_INVALID_ARG_VALUE")
        return (error as Error).message;
      throw error;
    } finally {
      await new Promise((done) => probe.close(done));
    }
  }
  return ports;
}

/** Parser errors: answer in JSON with the right status, then close. */
/**
 * How long the request line in the parser's last packet is (to its CRLF, or all of it): a
 * request line alone past the URI limit overflowed the header budget because of its target.
 */
function requestLineLength(packet: Buffer | undefined): number {
  if (!packet || !/^[A-Z]+ [^ ]/.test(packet.subarray(0, 32).toString("latin1"))) return 0;
  const end = packet.indexOf("\r\n");
  return end === -1 ? packet.length : end;
}

type ParserError = Error & { code?: string; rawPacket?: Buffer };

function onClientError(error: ParserError, socket: Duplex, maxUriLength: number): void {
  const code: ErrorCode =
    error.code === "HPE_HEADER_OVERFLOW"
      ? requestLineLength(error.rawPacket) > maxUriLength
        ? "GATEHOUSE_URI_TOO_LONG"
        : "GATEHOUSE_HEADERS_TOO_LARGE"
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? "GATEHOUSE_REQUEST_TIMEOUT"
        : "GATEHOUSE_BAD_FRAMING";
  // A response already under way on this connection cannot be followed by another.
  const inProgress = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (inProgress?.headersSent || error.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  writeRawError(socket, code, newRequestId());
}
