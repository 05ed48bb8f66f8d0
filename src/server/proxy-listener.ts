/**
 * @module server/proxy-listener
 * A proxy listener's HTTP or HTTPS server: Node's parser limits and header deadline set from
 * `gateway.limits`, the request handler on every event it answers (requests,
 * 100-continue, upgrades), CONNECT refused, and parser errors answered in JSON with the
 * right status before the close.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { GatehouseConfig } from "../config/schema/index.ts";
import type { ErrorCode } from "../errors.ts";
import { writeRawError } from "../proxy/respond.ts";
import type { ListenerCertificates } from "../tls/listener-certificates.ts";
import { GatewayResponse } from "./exchange.ts";
import { timeoutCheckInterval } from "./request-body-watch.ts";
import type { RequestHandler } from "./request-handler.ts";
import { newRequestId, requestIdOf } from "./request-id.ts";

type Limits = GatehouseConfig["gateway"]["limits"];

/**
 * Creates (not yet listening) one proxy listener's server: HTTPS with `certificates`,
 * else plain HTTP.
 */
export function createProxyServer(
  limits: Limits,
  handler: RequestHandler,
  certificates?: ListenerCertificates,
): Server {
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
  return server;
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
