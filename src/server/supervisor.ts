/**
 * @module server/supervisor
 * The node's supervisor: it applies each config (compile, swap, hand it to the proxy
 * workers), runs the health probes whose findings every thread follows, numbers the
 * configs it serves, and answers the status listener. The proxy listeners are served by
 * worker threads (`gateway.workers` > 1) or by one proxy worker in this thread.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism } from "node:os";
import { dirname } from "node:path";
import type { GatehouseConfig } from "../config/schema/index.ts";
import {
  type ConfigRevision,
  nextRevision,
  type ReloadOutcome,
} from "../observability/config-revision.ts";
import type { Logger } from "../observability/logger.ts";
import type { GatewayMetrics } from "../observability/metrics.ts";
import { type RouteTraffic, trafficOfWorkers } from "../observability/request-metrics.ts";
import { bucketOf, mergeWindows, type WindowSnapshot } from "../observability/request-window.ts";
import { builtinNodeCounters } from "../plugins/index.ts";
import type { RegistryStore } from "../registry/store.ts";
import {
  type DiscoveredTargetsListener,
  DiscoverySupervisor,
} from "../runtime/discovery-supervisor.ts";
import type { HealthSupervisor } from "../runtime/health-supervisor.ts";
import type { LiveRuntime } from "../runtime/live-runtime.ts";
import type { Runtime } from "../runtime/runtime.ts";
import { applyTargetState, captureTargetState, watchTargetState } from "../runtime/target-sync.ts";
import { NodeLimitService } from "../stores/node-limits.ts";
import { CertificateWatcher } from "../tls/certificate-watcher.ts";
import type { ListenerCertificates } from "../tls/listener-certificates.ts";
import { listingOf, type TargetListing } from "../upstream/service.ts";
import { viewUpstreams } from "../upstream/upstream-view.ts";
import type { ClientConnections } from "./connection-limit.ts";
import type { ClientConnectionCap } from "./open-file-limit.ts";
import { listen, sharedPorts } from "./proxy-listener.ts";
import { ProxyWorker } from "./proxy-worker.ts";
import { createStatusServer } from "./status.ts";
import { readiness, type StatusState, statusReport } from "./status-report.ts";
import type { WorkerStats } from "./worker-messages.ts";
import { WorkerPool } from "./worker-pool.ts";

/** How many worker threads `gateway.workers` asks for. */
export function workerCount(setting: GatehouseConfig["gateway"]["workers"]): number {
  return setting === "auto" ? availableParallelism() : setting;
}

export interface SupervisorOptions {
  config: GatehouseConfig;
  live: LiveRuntime;
  log: Logger;
  metrics: GatewayMetrics | undefined;
  health: HealthSupervisor;
  /** The file `gateway.pluginModules` are relative to (worker threads load them again). */
  configFile: string;
  /** Where discovery's answers go: the control plane's door, which calls `setTargets` in turn. */
  onDiscovered: DiscoveredTargetsListener;
  /** The certificate files changed: the control plane's door, which calls `reloadCertificates`. */
  onCertificatesChanged: () => void;
  /** The service registry's store, for services that discover their targets in it. */
  registry?: RegistryStore | undefined;
}

/** Applies configs, runs the probes, and keeps the proxy workers serving. */
export class Supervisor {
  readonly #settings: GatehouseConfig["gateway"];
  readonly #live: LiveRuntime;
  readonly #metrics: GatewayMetrics | undefined;
  readonly #health: HealthSupervisor;
  /** The discovery sources of the node: only this thread resolves; the workers follow. */
  readonly #discovery: DiscoverySupervisor;
  readonly #registry: RegistryStore | undefined;
  readonly #configFile: string;
  readonly log: Logger;
  /** The proxy role of this thread: it serves the listeners unless worker threads do. */
  readonly #local: ProxyWorker;
  /** With `gateway.workers` > 1: the worker threads that serve the proxy listeners. */
  #pool: WorkerPool | undefined;
  #stopRelaying: (() => void) | undefined;
  readonly #onCertificatesChanged: () => void;
  #certificateWatcher: CertificateWatcher | undefined;
  #statusServer: Server | undefined;
  /** The config serving now (its dynamic part changes with every reload). */
  #config: GatehouseConfig;
  readonly #startedAt = new Date();
  #revision: ConfigRevision;
  #lastReload: ReloadOutcome | undefined;
  #listening = false;
  /** start() was called: a config applied from then on is a reload (one before is the start's). */
  #started = false;
  #draining = false;

  constructor(options: SupervisorOptions) {
    const { config, live, log, metrics } = options;
    this.#settings = config.gateway;
    this.#config = config;
    this.#live = live;
    this.log = log;
    this.#metrics = metrics;
    this.#health = options.health;
    this.#configFile = options.configFile;
    this.#discovery = new DiscoverySupervisor(options.onDiscovered, options.registry);
    this.#registry = options.registry;
    this.#onCertificatesChanged = options.onCertificatesChanged;
    this.#local = new ProxyWorker({
      settings: config.gateway,
      live,
      log,
      metrics,
      thread: 0,
      baseDir: dirname(options.configFile),
    });
    this.#revision = nextRevision(config, undefined, this.#startedAt);
    metrics?.configApplied(this.#revision, false);
  }

  /** Starts the probes and discovery, the proxy workers, then the status listener. */
  async start(): Promise<void> {
    this.#started = true;
    this.#health.apply(this.#live.current);
    this.#discovery.apply(this.#live.current);
    const workers = workerCount(this.#settings.workers);
    const connections = this.#local.clientConnections(workers);
    const pooled = workers > 1 && (await this.#startWorkers(workers, connections));
    if (!pooled) await this.#local.listen(connections);
    this.#watchCertificates();
    const status = this.#settings.status;
    if (status) {
      this.#statusServer = createStatusServer({
        ready: () => readiness(this.#statusState(), status.requiredServices),
        status: async () => statusReport(this.#statusState(await this.#pool?.stats())),
        log: this.log,
        allowedHosts: status.allowedHosts,
        upstreams: () =>
          viewUpstreams(this.#live.current.services.values(), { metadata: status.showMetadata }),
        metrics:
          this.#metrics &&
          (async (accept) =>
            this.#metrics!.exposition(accept, this.#pool && (await this.#pool.metrics()))),
      });
      await listen(this.#statusServer, status.port, status.host);
    }
    this.#listening = true;
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
    const targets = this.#live.targets;
    this.#pool = new WorkerPool({
      count,
      config: this.#config,
      revision: this.#revision,
      ports,
      pluginModules: this.#settings.pluginModules,
      configFile: this.#configFile,
      states: () => captureTargetState(targets),
      discovered: () => this.#live.discoveredTargets(),
      onState: (change) => applyTargetState(targets, change),
      limits: new NodeLimitService(builtinNodeCounters),
      connections,
      log: this.log,
    });
    // Probes run here (and feed the breakers here): the workers follow what they find.
    this.#stopRelaying = watchTargetState(targets, (change) => this.#pool?.broadcast(change));
    await this.#pool.start();
    this.log.info({ workers: count }, `${count} worker threads serve the proxy listeners`);
    return true;
  }

  /**
   * Serves a new config from now on (its `gateway:` part is static and ignored): compiled
   * beside the current one and swapped in, then handed to the proxy workers. `version` is
   * the number a shared store gave it (etcd's, cluster-wide); default: the next.
   */
  async reload(config: GatehouseConfig, options: { version?: number } = {}): Promise<void> {
    const previous = this.#live.swap(config);
    this.#config = config;
    this.#local.settle(config);
    this.#revision = nextRevision(config, this.#revision, undefined, options.version);
    this.#lastReload = { at: this.#revision.appliedAt, result: "success" };
    // Before start, a node is still taking its first config (etcd's, at start): no reload.
    this.#metrics?.configApplied(this.#revision, this.#started);
    // The workers get the config once this thread knows the new targets' health.
    if (!this.#draining) this.#health.apply(this.#live.current);
    const workers = this.#pool?.reload(config, this.#revision);
    await this.#live.retire(previous);
    if (!this.#draining) this.#discovery.apply(this.#live.current);
    await workers;
  }

  /** Watches the TLS listeners' certificate files (this thread alone: it tells the workers). */
  #watchCertificates(): void {
    const files = this.#local.certificates.flatMap((listener) => listener.files);
    if (files.length === 0) return;
    this.#certificateWatcher = new CertificateWatcher(files, {
      settle: 200,
      onChange: this.#onCertificatesChanged,
      onError: (error) => this.log.warn({ err: error }, "cannot watch a certificate file"),
    });
  }

  /**
   * Reads the TLS listeners' certificate files again, here and, when every one loads, in
   * every worker: they serve the next handshakes. One that does not load is refused (logged)
   * and the previous certificates keep serving everywhere. True when all were reloaded.
   */
  reloadCertificates(): boolean {
    if (this.#draining) return false;
    const refused = this.#local.reloadCertificates();
    for (const error of refused)
      this.log.error(
        { error: error.message },
        `certificate reload refused: ${error.message}; the previous certificates keep serving`,
      );
    if (refused.length > 0) return false;
    this.#pool?.broadcastCertificates();
    const names = this.#local.certificates.flatMap((listener) =>
      listener.certificates.map((certificate) => certificate.subject),
    );
    this.log.info({ certificates: names }, "certificates reloaded");
    return true;
  }

  /** Every TLS listener's certificates, for the expiry metric. */
  get certificates(): readonly ListenerCertificates[] {
    return this.#local.certificates;
  }

  /**
   * Gives a service of the serving config the targets its discovery found, here and in
   * every worker; false when the serving config has no such service (a reload removed it)
   * or the node is stopping.
   */
  setTargets(service: string, targets: readonly TargetListing[]): boolean {
    // An answer that waited in the queue while the node began to stop: nothing to serve it.
    if (this.#draining) return false;
    const changed = this.#live.setTargets(service, targets);
    if (!changed) return false;
    this.#health.syncChanges(changed.service, changed);
    const { added, removed } = changed;
    if (added.length > 0 || removed.length > 0)
      this.#pool?.broadcastTargetChanges({
        service,
        put: added.map(listingOf),
        removed: removed.map((target) => target.url),
      });
    return true;
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

  get runtime(): Runtime {
    return this.#live.current;
  }

  /** Requests by route, counted by whichever threads serve them (for the admin API). */
  async traffic(): Promise<Map<string, RouteTraffic>> {
    if (!this.#metrics) return new Map();
    return this.#pool
      ? trafficOfWorkers(await this.#pool.metrics())
      : this.#metrics.requests.trafficByRoute();
  }

  /** The last 15 minutes of requests, counted by whichever threads serve them (admin `/stats`). */
  async requestWindow(): Promise<WindowSnapshot> {
    const end = bucketOf(Date.now());
    const local = this.#metrics?.requests.window.snapshot(end) ?? { end, series: [] };
    if (!this.#pool) return local;
    return mergeWindows(end, [local, ...(await this.#pool.windows(end))]);
  }

  /** The bound proxy addresses (useful with port 0), and the status listener's. */
  addresses(): { proxy: AddressInfo[]; status: AddressInfo | undefined } {
    return {
      proxy: this.#pool ? this.#pool.addresses() : this.#local.addresses(),
      status: this.#statusServer?.address() as AddressInfo | undefined,
    };
  }

  /** The node's client connection cap and where it came from, once started. */
  get clientConnectionCap(): ClientConnectionCap | undefined {
    return this.#local.connectionCap;
  }

  /** The proxy connections this thread holds (none when worker threads serve them). */
  get openConnections(): number {
    return this.#local.stats().openConnections;
  }

  /** Open WebSocket tunnels (of this thread). */
  get tunnelCount(): number {
    return this.#local.tunnelCount;
  }

  /** `workers`: what the worker threads count, when they serve the proxy listeners. */
  #statusState(workers?: WorkerStats[]): StatusState {
    const sum = (count: (stats: WorkerStats) => number) =>
      workers?.reduce((total, stats) => total + count(stats), 0);
    const local = this.#local.stats();
    return {
      workers,
      runtime: this.#live.current,
      revision: this.#revision,
      lastReload: this.#lastReload,
      startedAt: this.#startedAt,
      // With workers, listening means at least one of them is (all may be restarting).
      listening: this.#listening && (this.#pool === undefined || this.#pool.serving > 0),
      draining: this.#draining,
      openConnections: sum((stats) => stats.openConnections) ?? local.openConnections,
      webSocketTunnels: sum((stats) => stats.webSocketTunnels) ?? local.webSocketTunnels,
      upstreamRequestsInFlight: sum((stats) => stats.upstreamRequestsInFlight),
      registry: this.#registry && {
        store: this.#settings.registry?.store ?? "memory",
        connected: this.#registry.connected ?? true,
        services: this.#registry.list(),
      },
    };
  }

  /**
   * Graceful stop: the proxy workers stop accepting, ask keep-alive clients to close and
   * let in-flight requests finish until `shutdownTimeout`; then everything closes.
   */
  async drain(): Promise<void> {
    this.#draining = true;
    // Each worker drains its own connections, within the same shutdownTimeout.
    this.#stopRelaying?.();
    await this.#pool?.stop();
    await this.#local.drain();
  }

  /** Closes whatever is left: probes, discovery, connections, the status listener, targets. */
  async close(): Promise<void> {
    this.#draining = true;
    this.#discovery.close();
    this.#certificateWatcher?.close();
    // Stopped already after a drain; not after a start that failed half way.
    await this.#pool?.stop();
    this.#health.close();
    this.#local.close();
    const server = this.#statusServer;
    if (server) {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    }
    this.#listening = false;
    await this.#live.close();
    await this.#local.closeObservers();
  }
}
