/**
 * @module server/proxy-worker
 * The proxy role of one thread: its proxy listeners and the request handler behind them,
 * the observers each request reports to (metrics, access log, tracing), its WebSocket
 * tunnels, and the drain on a graceful stop. It serves whatever its live runtime holds;
 * what changes that runtime (probes, config changes) is its supervisor's.
 */
import type { AddressInfo } from "node:net";
import type { GatehouseConfig } from "../config/schema/index.ts";
import { AccessLog } from "../observability/access-log.ts";
import type { Logger } from "../observability/logger.ts";
import type { GatewayMetrics } from "../observability/metrics.ts";
import { Tracing } from "../observability/tracing.ts";
import { createPortal } from "../portal/server.ts";
import { createClientAddressResolver } from "../proxy/client-address.ts";
import { OpenTunnels } from "../proxy/tunnel-settling.ts";
import type { LiveRuntime } from "../runtime/live-runtime.ts";
import type { ListenerCertificates } from "../tls/listener-certificates.ts";
import type { ClientConnections } from "./connection-limit.ts";
import { combineObservers } from "./exchange.ts";
import type { ClientConnectionCap } from "./open-file-limit.ts";
import { ProxyServers } from "./proxy-servers.ts";
import { createRequestHandler } from "./request-handler.ts";
import type { WorkerStats } from "./worker-messages.ts";

export interface ProxyWorkerOptions {
  settings: GatehouseConfig["gateway"];
  live: LiveRuntime;
  log: Logger;
  metrics: GatewayMetrics | undefined;
  /** This thread's number: 0 without worker threads, else the worker's index. */
  thread: number;
  /** The directory the listeners' certificate files are relative to (the config file's). */
  baseDir: string;
}

/** Serves the proxy listeners of one thread from its live runtime. */
export class ProxyWorker {
  readonly #settings: GatehouseConfig["gateway"];
  readonly #live: LiveRuntime;
  readonly #log: Logger;
  readonly #metrics: GatewayMetrics | undefined;
  readonly #servers: ProxyServers;
  /** Open WebSocket tunnels, closed with 1001 when a reload removes their route. */
  readonly #tunnels: OpenTunnels;
  readonly #tracing: Tracing | undefined;
  readonly #accessLog: AccessLog | undefined;
  readonly #baseDir: string;
  #draining = false;

  constructor(options: ProxyWorkerOptions) {
    const { settings, log, metrics } = options;
    this.#settings = settings;
    this.#live = options.live;
    this.#log = log;
    this.#metrics = metrics;
    this.#baseDir = options.baseDir;
    this.#servers = new ProxyServers({
      settings,
      log,
      thread: options.thread,
      baseDir: options.baseDir,
      http2Closed: metrics?.http2SessionClosed.bind(metrics),
    });
    this.#tunnels = new OpenTunnels(settings.reload.webSocketGrace, log);
    const clientAddress = createClientAddressResolver(settings.trustedProxies);
    if (settings.tracing.enabled) {
      this.#tracing = new Tracing(settings.tracing, {
        clientAddress,
        spansDropped: (reason, spans) => metrics?.tracingSpansDropped(reason, spans),
        exportEnded: (outcome) => metrics?.tracingExportEnded(outcome),
      });
    }
    if (settings.accessLog.enabled) {
      this.#accessLog = new AccessLog(settings.accessLog, {
        clientAddress,
        log,
        dropped: (lines) => metrics?.accessLogDropped(lines),
      });
    }
  }

  /**
   * Resolves `gateway.limits.maxClientConnections` for a node of `threads` threads and
   * makes the counts they share (the supervisor's job; a worker is handed them).
   */
  clientConnections(threads: number): ClientConnections {
    return this.#servers.clientConnections(threads);
  }

  /** The node's client connection cap and where it came from, once resolved here. */
  get connectionCap(): ClientConnectionCap | undefined {
    return this.#servers.connectionCap;
  }

  /**
   * Binds the proxy listeners behind the node's client connection cap; on `ports` (shared
   * with the other workers) instead of the configured ones.
   */
  async listen(connections: ClientConnections, ports?: number[]): Promise<void> {
    const live = this.#live;
    const metrics = this.#metrics;
    const handler = createRequestHandler(this.#settings, {
      runtime: () => live.current,
      draining: () => this.#draining,
      tunnels: this.#tunnels.sockets,
      log: this.#log,
      observer: combineObservers([this.#tracing, metrics?.requests, this.#accessLog]),
      ...(metrics && { clientTimedOut: metrics.clientTimedOut.bind(metrics) }),
      ...(this.#settings.portal && {
        portal: createPortal(this.#settings.portal, {
          runtime: () => live.current,
          baseDir: this.#baseDir,
          log: this.#log,
          paths: this.#settings.paths,
        }),
      }),
    });
    await this.#servers.listen(
      handler,
      connections,
      metrics?.connectionRefused.bind(metrics),
      ports,
    );
  }

  /** Each TLS listener's certificates (none without TLS). */
  get certificates(): readonly ListenerCertificates[] {
    return this.#servers.certificates;
  }

  /**
   * Reads the TLS listeners' certificate files again: each listener serves its new ones
   * from the next handshake, or keeps its old ones when one does not load. Returns the
   * refusals (empty: all reloaded).
   */
  reloadCertificates(): Error[] {
    const refused: Error[] = [];
    for (const listener of this.#servers.certificates) {
      const result = listener.reload();
      if (result !== true) refused.push(result);
    }
    return refused;
  }

  /** Closes the tunnels whose route `config` no longer has, after the reload grace. */
  settle(config: GatehouseConfig): void {
    this.#tunnels.settle(config);
  }

  /** The bound addresses (useful with port 0). */
  addresses(): AddressInfo[] {
    return this.#servers.addresses();
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Open WebSocket tunnels. */
  get tunnelCount(): number {
    return this.#tunnels.size;
  }

  /** What this thread counts, for its supervisor's `/status`. */
  stats(): Omit<WorkerStats, "worker" | "restarts"> {
    return {
      connectionsAccepted: this.#servers.connectionsAccepted,
      openConnections: this.#servers.openConnections,
      webSocketTunnels: this.#tunnels.size,
      upstreamRequestsInFlight: this.#live.upstreamRequestsInFlight,
    };
  }

  /**
   * Stops accepting, asks keep-alive clients to close and lets in-flight requests finish
   * until `gateway.shutdownTimeout`.
   */
  async drain(): Promise<void> {
    this.#draining = true;
    await this.#servers.drain(this.#tunnels);
  }

  /** Cuts whatever is still open, tunnels included, and closes the listeners. */
  close(): void {
    this.#draining = true;
    this.#tunnels.destroyAll();
    this.#servers.close();
  }

  /** Flushes and closes the access log and the tracer (after the last request finished). */
  async closeObservers(): Promise<void> {
    await this.#accessLog?.close();
    await this.#tracing?.close();
  }
}
