/**
 * @module gateway
 * A running gateway: proxy listeners, the status listener, the current runtime, and
 * graceful shutdown. Lifecycle: create (compile) → start (bind) → stop (drain, close).
 */

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { createAdminServer } from "./admin/server.ts";
import { configOriginOf } from "./config/document.ts";
import { formatProblem } from "./config/load.ts";
import type { GatehouseConfig } from "./config/schema/index.ts";
import { AccessLog } from "./observability/access-log.ts";
import { AuditTrail } from "./observability/audit-log.ts";
import {
  type ConfigRevision,
  nextRevision,
  type ReloadOutcome,
} from "./observability/config-revision.ts";
import { createLogger, type Logger } from "./observability/logger.ts";
import { GatewayMetrics } from "./observability/metrics.ts";
import { trafficOfWorkers } from "./observability/request-metrics.ts";
import { Tracing } from "./observability/tracing.ts";
import type { PluginRegistry } from "./pipeline/registry.ts";
import { builtinNodeCounters, createPluginRegistry } from "./plugins/index.ts";
import { createClientAddressResolver } from "./proxy/client-address.ts";
import { OpenTunnels } from "./proxy/tunnel-settling.ts";
import { compileRuntime } from "./runtime/compile.ts";
import { ControlPlane } from "./runtime/control-plane.ts";
import { DiscoverySupervisor } from "./runtime/discovery-supervisor.ts";
import { HealthSupervisor } from "./runtime/health-supervisor.ts";
import type { GatewayPlugins } from "./runtime/plugin-instances.ts";
import type { Runtime } from "./runtime/runtime.ts";
import { TargetRegistry } from "./runtime/target-registry.ts";
import {
  applyTargetState,
  captureTargetState,
  type TargetStateChange,
  watchTargetState,
} from "./runtime/target-sync.ts";
import type { ClientConnections } from "./server/connection-limit.ts";
import { combineObservers } from "./server/exchange.ts";
import type { ClientConnectionCap } from "./server/open-file-limit.ts";
import { listen, sharedPorts } from "./server/proxy-listener.ts";
import { ProxyServers } from "./server/proxy-servers.ts";
import { createRequestHandler } from "./server/request-handler.ts";
import { createStatusServer } from "./server/status.ts";
import { readiness, statusReport } from "./server/status-report.ts";
import type { WorkerStats } from "./server/worker-messages.ts";
import { WorkerPool } from "./server/worker-pool.ts";
import { NodeLimitService, type NodeLimits } from "./stores/node-limits.ts";
import { RedisConnections } from "./stores/redis.ts";
import type { Target } from "./upstream/target.ts";
import { viewUpstreams } from "./upstream/upstream-view.ts";

/** Where the gateway is listening, once started. */
export interface GatewayAddresses {
  proxy: AddressInfo[];
  status: AddressInfo | undefined;
  admin: AddressInfo | undefined;
}

export interface GatewayOptions {
  /**
   * The plugins this gateway knows, the registry its config was validated with
   * (`validateConfigFile(file, env, overlay, plugins)`); default: the built-ins and those
   * `gateway.pluginModules` or the deprecated `registerPlugin` added process-wide.
   */
  plugins?: PluginRegistry;
  /**
   * This gateway is worker `index` of a node (server/worker-thread.ts): it binds the proxy
   * listeners on `ports` alongside the other workers, and leaves probes, the status and
   * admin listeners and config bookkeeping to its supervisor, whose `revision` it serves.
   */
  worker?: {
    index: number;
    ports: number[];
    revision: ConfigRevision;
    /** The node's client connection cap and the counts every thread shares. */
    connections: ClientConnections;
    /** Where rate and concurrency limits are counted once for the node. */
    nodeLimits: NodeLimits;
  };
}

export interface ReloadOptions {
  /** The version to number this config with (the etcd store's, cluster-wide); default: next. */
  version?: number;
  /** A worker thread serves the revision its supervisor made. */
  revision?: ConfigRevision;
}

/** How many worker threads `gateway.workers` asks for. */
export function workerCount(setting: GatehouseConfig["gateway"]["workers"]): number {
  return setting === "auto" ? availableParallelism() : setting;
}

/** A gateway built from one config. */
export class Gateway {
  readonly #settings: GatehouseConfig["gateway"];
  readonly #targets = new TargetRegistry();
  readonly #health: HealthSupervisor;
  readonly #worker: GatewayOptions["worker"];
  /** What this gateway's plugins are created with: its registry, and the node's limits. */
  readonly #plugins: GatewayPlugins;
  /** With `gateway.workers` > 1: the worker threads that serve the proxy listeners. */
  #pool: WorkerPool | undefined;
  #stopWatchingTargets: (() => void) | undefined;
  readonly #discovery = new DiscoverySupervisor(this.#targets, (service) => {
    this.#health.syncService(service);
    this.#dropUnusedTargets();
  });
  /** Open WebSocket tunnels, closed with 1001 when a reload removes their route. */
  readonly #tunnels: OpenTunnels;
  /** The proxy listeners this thread serves (none in a supervisor of worker threads). */
  readonly #proxy: ProxyServers;
  #statusServer: Server | undefined;
  #adminServer: Server | undefined;
  #runtime: Runtime;
  /** The config serving now (its dynamic part changes with every reload). */
  #config: GatehouseConfig;
  /**
   * The file the gateway was started from: `gateway.pluginModules` are relative to it (a
   * config applied later, from etcd or the admin API, is not read from any file).
   */
  readonly #configFile: string;
  /** The process log (`gateway.log`); the CLI writes through it too. */
  readonly log: Logger;
  readonly #startedAt = new Date();
  #revision: ConfigRevision;
  #lastReload: ReloadOutcome | undefined;
  readonly #metrics: GatewayMetrics | undefined;
  readonly #accessLog: AccessLog | undefined;
  readonly #tracing: Tracing | undefined;
  readonly #audit: AuditTrail;
  /**
   * Where every config change goes (file watcher, SIGHUP, admin API): validated, persisted,
   * applied through `reload`, versioned and audited.
   */
  readonly control: ControlPlane;
  #listening = false;
  /** start() was called: a config applied from then on is a reload (one before is the start's). */
  #started = false;
  #draining = false;
  #stopping: Promise<void> | undefined;

  constructor(config: GatehouseConfig, options: GatewayOptions = {}) {
    this.#settings = config.gateway;
    this.#config = config;
    this.#configFile = configOriginOf(config)?.file ?? join(process.cwd(), "gatehouse.yaml");
    this.#worker = options.worker;
    this.#plugins = {
      registry: options.plugins ?? createPluginRegistry(),
      nodeLimits: options.worker?.nodeLimits,
      redis: new RedisConnections(),
    };
    const log = createLogger(config.gateway.log);
    this.log = this.#worker ? log.child({ worker: this.#worker.index }) : log;
    this.#proxy = new ProxyServers({
      settings: config.gateway,
      log: this.log,
      thread: this.#worker?.index ?? 0,
    });
    this.#tunnels = new OpenTunnels(config.gateway.reload.webSocketGrace, this.log);
    this.#revision = this.#worker?.revision ?? nextRevision(config, undefined, this.#startedAt);
    this.#logWarnings(config);
    if (config.gateway.metrics.enabled) {
      this.#metrics = new GatewayMetrics(
        {
          services: () => this.#runtime.services.values(),
          openConnections: () => this.#proxy.openConnections,
        },
        { worker: this.#worker !== undefined },
      );
      this.#metrics?.configApplied(this.#revision, false);
    }
    this.#health = new HealthSupervisor({ probes: this.#metrics?.healthChecks });
    this.#runtime = compileRuntime(
      config,
      this.#targets,
      undefined,
      this.#metrics?.plugins,
      this.log,
      this.#plugins,
    );
    if (config.gateway.tracing.enabled) {
      this.#tracing = new Tracing(config.gateway.tracing, {
        clientAddress: createClientAddressResolver(config.gateway.trustedProxies),
      });
    }
    const accessLog = config.gateway.accessLog;
    if (accessLog.enabled) {
      const clientAddress = createClientAddressResolver(config.gateway.trustedProxies);
      this.#accessLog = new AccessLog(accessLog, {
        clientAddress,
        log: this.log,
        dropped: (lines) => this.#metrics?.accessLogDropped(lines),
      });
    }
    this.#audit = new AuditTrail(config.gateway.audit, this.log);
    this.control = new ControlPlane(this, config, this.#audit);
  }

  /** Binds every listener; resolves once all accept connections. */
  async start(): Promise<void> {
    this.#started = true;
    const handler = createRequestHandler(this.#settings, {
      runtime: () => this.#runtime,
      draining: () => this.#draining,
      tunnels: this.#tunnels.sockets,
      log: this.log,
      observer: combineObservers([this.#tracing, this.#metrics?.requests, this.#accessLog]),
      ...(this.#metrics && {
        clientTimedOut: this.#metrics.clientTimedOut.bind(this.#metrics),
      }),
    });
    // A worker's targets follow its supervisor's probes; it probes nothing itself.
    if (!this.#worker) this.#health.apply(this.#runtime);
    this.#discovery.apply(this.#runtime);
    try {
      const workers = this.#worker ? 1 : workerCount(this.#settings.workers);
      const connections = this.#worker?.connections ?? this.#proxy.clientConnections(workers);
      const pooled = workers > 1 && (await this.#startWorkers(workers, connections));
      if (!pooled) {
        const onRefused = this.#metrics?.connectionRefused.bind(this.#metrics);
        await this.#proxy.listen(handler, connections, onRefused, this.#worker?.ports);
      }
      if (this.#worker) {
        this.#listening = true;
        return;
      }
      const status = this.#settings.status;
      if (status) {
        this.#statusServer = createStatusServer({
          ready: () => readiness(this.#statusState(), status.requiredServices),
          status: async () => statusReport(this.#statusState(await this.#pool?.stats())),
          log: this.log,
          allowedHosts: status.allowedHosts,
          upstreams: () =>
            viewUpstreams(this.#runtime.services.values(), { metadata: status.showMetadata }),
          metrics:
            this.#metrics &&
            (async (accept) =>
              this.#metrics!.exposition(accept, this.#pool && (await this.#pool.metrics()))),
        });
        await listen(this.#statusServer, status.port, status.host);
      }
      const admin = this.#settings.admin;
      if (admin) {
        this.#adminServer = createAdminServer({
          settings: admin,
          control: this.control,
          runtime: () => this.#runtime,
          ...(this.#metrics && {
            traffic: async () =>
              this.#pool
                ? trafficOfWorkers(await this.#pool.metrics())
                : this.#metrics!.requests.trafficByRoute(),
          }),
          log: this.log,
        });
        await listen(this.#adminServer, admin.port, admin.host);
      }
    } catch (error) {
      await this.#closeAll();
      throw error;
    }
    this.#listening = true;
  }

  /** The node's client connection cap and where it came from, once started (not in a worker). */
  get clientConnectionCap(): ClientConnectionCap | undefined {
    return this.#proxy.connectionCap;
  }

  /**
   * Starts `count` worker threads on the proxy listeners' ports (see sharedPorts); false
   * when the platform cannot share a port and `workers: auto` settles for this thread.
   */
  async #startWorkers(count: number, connections: ClientConnections): Promise<boolean> {
    const ports = await sharedPorts(this.#settings.listen);
    if (typeof ports === "string") {
      const missing = `worker threads share a port with SO_REUSEPORT, which this platform does not offer (${ports})`;
      if (this.#settings.workers !== "auto")
        throw new Error(`gateway.workers: ${count}: ${missing}; set workers: 1`);
      this.log.warn(`gateway.workers: auto: ${missing}; serving from one thread`);
      return false;
    }
    this.#pool = new WorkerPool({
      count,
      config: this.#config,
      revision: this.#revision,
      ports,
      pluginModules: this.#settings.pluginModules,
      configFile: this.#configFile,
      states: () => captureTargetState(this.#targets),
      onState: (change) => applyTargetState(this.#targets, change),
      limits: new NodeLimitService(builtinNodeCounters),
      connections,
      log: this.log,
    });
    // Probes run here (and feed the breakers here): the workers follow what they find.
    this.#stopWatchingTargets = watchTargetState(this.#targets, (change) =>
      this.#pool?.broadcast(change),
    );
    await this.#pool.start();
    this.log.info({ workers: count }, `${count} worker threads serve the proxy listeners`);
    return true;
  }

  /** Takes a target state change another thread of this node made. */
  followTargetState(change: TargetStateChange): void {
    applyTargetState(this.#targets, change);
  }

  /** Calls `send` with each change this thread makes to a target's state; returns the stop. */
  watchTargetState(send: (change: TargetStateChange) => void): () => void {
    return watchTargetState(this.#targets, send);
  }

  /** What this worker counted, for its supervisor's `/metrics`. */
  workerMetrics(): Promise<object[]> {
    return this.#metrics?.workerMetrics() ?? Promise.resolve([]);
  }

  /** What this worker counts, for its supervisor's `/status`. */
  workerStats(): Omit<WorkerStats, "worker" | "restarts"> {
    let upstreamRequestsInFlight = 0;
    for (const target of this.#targets.values()) upstreamRequestsInFlight += target.inFlight;
    return {
      connectionsAccepted: this.#proxy.connectionsAccepted,
      openConnections: this.#proxy.openConnections,
      webSocketTunnels: this.#tunnels.size,
      upstreamRequestsInFlight,
    };
  }

  /** The bound addresses (useful with port 0). */
  addresses(): GatewayAddresses {
    if (this.#pool) {
      return {
        proxy: this.#pool.addresses(),
        status: this.#statusServer?.address() as AddressInfo | undefined,
        admin: this.#adminServer?.address() as AddressInfo | undefined,
      };
    }
    return {
      proxy: this.#proxy.addresses(),
      status: this.#statusServer?.address() as AddressInfo | undefined,
      admin: this.#adminServer?.address() as AddressInfo | undefined,
    };
  }

  /**
   * Serves a new config from now on (its `gateway:` part is static and ignored). Requests
   * in flight finish on the runtime they started with; targets that stay keep their pool
   * and state; targets that went away are closed. WebSocket tunnels stay open unless their
   * route went away: those are closed with 1001 after `gateway.reload.webSocketGrace`.
   */
  async reload(config: GatehouseConfig, options: ReloadOptions = {}): Promise<void> {
    const previous = this.#runtime;
    const next = compileRuntime(
      config,
      this.#targets,
      previous,
      this.#metrics?.plugins,
      this.log,
      this.#plugins,
    );
    this.#logWarnings(config);
    this.#runtime = next;
    this.#config = config;
    this.#tunnels.settle(config);
    this.#revision =
      options.revision ?? nextRevision(config, this.#revision, undefined, options.version);
    this.#lastReload = { at: this.#revision.appliedAt, result: "success" };
    // Before start, a node is still taking its first config (etcd's, at start): no reload.
    this.#metrics?.configApplied(this.#revision, this.#started);
    // Instances the new runtime re-created let go of theirs (shared store connections are
    // reference-counted, so requests still running on the old runtime keep working).
    // The workers get the config once this thread knows the new targets' health.
    if (!this.#stopping && !this.#worker) this.#health.apply(next);
    const workers = this.#pool?.reload(config, this.#revision);
    await previous.closePlugins();
    if (!this.#stopping) this.#discovery.apply(next);
    this.#dropUnusedTargets();
    await workers;
  }

  /** Logs what loading `config` warned about, located (a worker leaves that to its supervisor). */
  #logWarnings(config: GatehouseConfig): void {
    if (this.#worker) return;
    for (const warning of configOriginOf(config)?.warnings ?? []) {
      const { file, line, col } = warning;
      this.log.warn({ config: file, line, col }, formatProblem(warning));
    }
  }

  /**
   * A reload was refused because the new config has `problems` (one a line); the last
   * good config keeps serving. Counted in the metrics and shown at `/status`.
   */
  reloadRefused(problems: readonly string[] = []): void {
    this.#lastReload = { at: new Date(), result: "failure", problems };
    this.#metrics?.reloadFailed();
  }

  /**
   * A reload found a valid config equal to the one serving: nothing to apply, and a
   * refusal before it is over. Shown at `/status`; true when it ended a refusal.
   */
  reloadUnchanged(): boolean {
    const endsRefusal = this.#lastReload?.result === "failure";
    this.#lastReload = { at: new Date(), result: "unchanged" };
    return endsRefusal;
  }

  /** The config being served: its version since start, hash and when it was applied. */
  get revision(): ConfigRevision {
    return this.#revision;
  }

  /**
   * The plugins this gateway knows. One registered here may be named by the configs applied
   * from now on (a reload, an admin change); the serving config was checked already.
   */
  get plugins(): PluginRegistry {
    return this.#plugins.registry;
  }

  /** `workers`: what the worker threads count, when they serve the proxy listeners. */
  #statusState(workers?: WorkerStats[]) {
    const sum = (count: (stats: WorkerStats) => number) =>
      workers?.reduce((total, stats) => total + count(stats), 0);
    return {
      workers,
      runtime: this.#runtime,
      revision: this.#revision,
      lastReload: this.#lastReload,
      startedAt: this.#startedAt,
      // With workers, listening means at least one of them is (all may be restarting).
      listening: this.#listening && (this.#pool === undefined || this.#pool.serving > 0),
      draining: this.#draining,
      openConnections: sum((stats) => stats.openConnections) ?? this.#proxy.openConnections,
      webSocketTunnels: sum((stats) => stats.webSocketTunnels) ?? this.#tunnels.size,
      upstreamRequestsInFlight: sum((stats) => stats.upstreamRequestsInFlight),
    };
  }

  /** Closes targets that no service of the current runtime lists any more. */
  #dropUnusedTargets(): void {
    const keep = new Set<Target>();
    for (const service of this.#runtime.services.values()) {
      for (const target of service.targets) keep.add(target);
    }
    this.#targets.retainOnly(keep);
  }

  /** The runtime requests are served from now. */
  get runtime(): Runtime {
    return this.#runtime;
  }

  /** Open WebSocket tunnels. */
  get tunnelCount(): number {
    return this.#tunnels.size;
  }

  /**
   * Graceful stop: stop accepting, ask keep-alive clients to close, let in-flight requests
   * finish until `shutdownTimeout`, then close whatever is left (tunnels included).
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#drain();
    return this.#stopping;
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    // Each worker drains its own connections, within the same shutdownTimeout.
    this.#stopWatchingTargets?.();
    await this.#pool?.stop();
    await this.#proxy.drain(this.#tunnels);
    await this.#closeAll();
  }

  async #closeAll(): Promise<void> {
    this.#discovery.close();
    this.#health.close();
    this.#tunnels.destroyAll();
    this.#proxy.close();
    for (const server of [this.#statusServer, this.#adminServer]) {
      if (!server) continue;
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    }
    this.#listening = false;
    await this.#runtime.closePlugins();
    await this.#targets.destroyAll();
    await this.#accessLog?.close();
    await this.#tracing?.close();
    await this.#audit.close();
  }
}
