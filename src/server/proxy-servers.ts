/**
 * @module server/proxy-servers
 * The proxy listeners of one thread: bound behind the node's client connection cap, their
 * open connections counted, and drained on a graceful stop (HTTP/2 connections with GOAWAY).
 */
import type { Server } from "node:http";
import type { Http2Server } from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import type { GatehouseConfig } from "../config/schema/index.ts";
import type { Logger } from "../observability/logger.ts";
import { ListenerCertificates } from "../tls/listener-certificates.ts";
import {
  type ClientConnections,
  ConnectionLimit,
  createConnectionCounts,
  guardConnections,
} from "./connection-limit.ts";
import type { Http2CloseReason } from "./http2-sessions.ts";
import { createHttpsRedirect } from "./https-redirect.ts";
import { type ClientConnectionCap, resolveMaxClientConnections } from "./open-file-limit.ts";
import { createProxyServer, listen } from "./proxy-listener.ts";
import type { RequestHandler } from "./request-handler.ts";

export interface ProxyServersOptions {
  settings: GatehouseConfig["gateway"];
  log: Logger;
  /** This thread's number: 0 without worker threads, else the worker's index. */
  thread: number;
  /** The directory the listeners' certificate files are relative to (the config file's). */
  baseDir: string;
  /** The gateway closed an HTTP/2 connection over a limit, or nghttp2 did (the metric). */
  http2Closed?: ((reason: Http2CloseReason) => void) | undefined;
}

/** The proxy listeners a gateway (or one of its worker threads) serves requests on. */
export class ProxyServers {
  readonly #settings: GatehouseConfig["gateway"];
  readonly #log: Logger;
  readonly #thread: number;
  readonly #servers: Server[] = [];
  /** The HTTP/2 servers of the listeners with `http2: true`. */
  readonly #http2: Http2Server[] = [];
  readonly #http2Closed: (reason: Http2CloseReason) => void;
  /** The proxy listeners' open connections. */
  readonly #sockets = new Set<Socket>();
  #connectionsAccepted = 0;
  /** This thread's side of the node's client connection cap. */
  #connectionLimit: ConnectionLimit | undefined;
  #connectionCap: ClientConnectionCap | undefined;
  /** Each TLS listener's certificates, by the listener's index. */
  readonly #certificates = new Map<number, ListenerCertificates>();

  /** Loads the TLS listeners' certificates (throws the first that does not load). */
  constructor(options: ProxyServersOptions) {
    this.#settings = options.settings;
    this.#log = options.log;
    this.#thread = options.thread;
    this.#http2Closed = options.http2Closed ?? (() => {});
    options.settings.listen.forEach(({ host, port, tls }, index) => {
      if (tls)
        this.#certificates.set(
          index,
          new ListenerCertificates(`${host}:${port}`, tls, options.baseDir),
        );
    });
  }

  /** The TLS listeners' certificates. */
  get certificates(): ListenerCertificates[] {
    return [...this.#certificates.values()];
  }

  /**
   * Resolves `gateway.limits.maxClientConnections` for the node (from the open-file limit
   * when `auto`) and makes the counts its `threads` will share.
   */
  clientConnections(threads: number): ClientConnections {
    this.#connectionCap = resolveMaxClientConnections(this.#settings.limits.maxClientConnections);
    return { max: this.#connectionCap.max, counts: createConnectionCounts(threads) };
  }

  /** The node's client connection cap and where it came from, once resolved here. */
  get connectionCap(): ClientConnectionCap | undefined {
    return this.#connectionCap;
  }

  /**
   * Binds the proxy listeners in this thread, behind the node's client connection cap; on
   * `ports` (a worker's, shared with the other workers) instead of the configured ones.
   */
  async listen(
    handler: RequestHandler,
    connections: ClientConnections,
    onRefused: (() => void) | undefined,
    ports?: number[],
  ): Promise<void> {
    const limit = new ConnectionLimit({
      ...connections,
      thread: this.#thread,
      log: this.#log,
      ...(onRefused && { onRefused }),
    });
    this.#connectionLimit = limit;
    const sockets = this.#sockets;
    const admitted = (socket: Socket) => {
      this.#connectionsAccepted++;
      sockets.add(socket);
    };
    function closed(this: Socket): void {
      sockets.delete(this);
      limit.release();
    }
    for (const [index, listener] of this.#settings.listen.entries()) {
      const served = listener.redirectToHttps
        ? createHttpsRedirect(listener.redirectToHttps, handler)
        : handler;
      const { server, http2 } = createProxyServer(this.#settings.limits, served, {
        certificates: this.#certificates.get(index),
        http2: listener.http2 ? { closed: this.#http2Closed } : undefined,
      });
      if (http2) this.#http2.push(http2);
      guardConnections(server, limit, admitted, closed);
      this.#servers.push(server);
      if (ports) await listen(server, ports[index]!, listener.host, true);
      else await listen(server, listener.port, listener.host);
    }
  }

  /** Connections accepted since start. */
  get connectionsAccepted(): number {
    return this.#connectionsAccepted;
  }

  /** Connections open now. */
  get openConnections(): number {
    return this.#sockets.size;
  }

  /** The bound addresses (useful with port 0). */
  addresses(): AddressInfo[] {
    return this.#servers.map((server) => server.address() as AddressInfo);
  }

  /**
   * Stops accepting and lets in-flight requests finish until `gateway.shutdownTimeout`,
   * closing connections as they become idle; `tunnels` open count as work still running.
   * HTTP/2 connections get GOAWAY at once: their open streams finish, new ones are refused
   * (clients retry them elsewhere), and each closes after its last stream. What is left at
   * the deadline is for `close()` to cut.
   */
  async drain(tunnels: { readonly size: number }): Promise<void> {
    const servers = this.#servers;
    const deadline = Date.now() + this.#settings.shutdownTimeout;
    const closed = Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
    // Never listening themselves: close() only sends every session its GOAWAY.
    for (const http2 of this.#http2) http2.close();
    let finished = false;
    void closed.then(() => {
      finished = true;
    });
    // Connections that finish their last response become idle: close them as they do.
    while (
      !finished &&
      Date.now() < deadline &&
      tunnels.size + (await openConnections(servers)) > 0
    ) {
      for (const server of servers) server.closeIdleConnections();
      // Node counts a connection that has not sent a request yet as busy (its header
      // timeout runs), so closeIdleConnections leaves it: close it here, it has no request.
      for (const socket of this.#sockets) if (socket.bytesRead === 0) socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Cuts every connection still open and closes the listeners. */
  close(): void {
    this.#connectionLimit?.close();
    for (const server of this.#servers) {
      server.closeAllConnections();
      server.close();
    }
    // HTTP/2 connections (and any not yet handed to a server) are not the HTTP servers'.
    for (const socket of this.#sockets) socket.destroy();
  }
}

function openConnections(servers: Server[]): Promise<number> {
  return Promise.all(
    servers.map(
      (server) =>
        new Promise<number>((resolve) => server.getConnections((_e, count) => resolve(count ?? 0))),
    ),
  ).then((counts) => counts.reduce((a, b) => a + b, 0));
}
