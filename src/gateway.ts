/**
 * @module gateway
 * A running gateway, put together: the live runtime, the supervisor that applies configs
 * and keeps the proxy workers serving, and beside them the control plane every config
 * change goes through, the admin API in front of it, and the service registry (when
 * `gateway.registry` is set) whose instances discovery turns into targets. Lifecycle:
 * create (compile) → start (bind) → stop (drain, close).
 */

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { createAdminServer } from "./admin/server.ts";
import { configOriginOf } from "./config/document.ts";
import type { GatehouseConfig } from "./config/schema/index.ts";
import { AuditTrail } from "./observability/audit-log.ts";
import type { ConfigRevision } from "./observability/config-revision.ts";
import { createLogger, type Logger } from "./observability/logger.ts";
import { GatewayMetrics } from "./observability/metrics.ts";
import type { PluginRegistry } from "./pipeline/registry.ts";
import { purgeCaches } from "./plugins/cache/registry.ts";
import { createPluginRegistry } from "./plugins/index.ts";
import { ServiceRegistry } from "./registry/service-registry.ts";
import { ControlPlane } from "./runtime/control-plane.ts";
import { HealthSupervisor } from "./runtime/health-supervisor.ts";
import { LiveRuntime } from "./runtime/live-runtime.ts";
import type { Runtime } from "./runtime/runtime.ts";
import type { ClientConnectionCap } from "./server/open-file-limit.ts";
import { listen } from "./server/proxy-listener.ts";
import { Supervisor } from "./server/supervisor.ts";
import { RedisConnections } from "./stores/redis.ts";
import type { TargetListing } from "./upstream/service.ts";

/** Where the gateway is listening, once started. */
export interface GatewayAddresses {
  proxy: AddressInfo[];
  status: AddressInfo | undefined;
  admin: AddressInfo | undefined;
  /** Where the registry API is served: its own listener, or the admin listener. */
  registry: AddressInfo | undefined;
}

export interface GatewayOptions {
  /**
   * The plugins this gateway knows, the registry its config was validated with
   * (`validateConfigFile(file, env, overlay, plugins)`); default: the built-ins and those
   * `gateway.pluginModules` or the deprecated `registerPlugin` added process-wide.
   */
  plugins?: PluginRegistry;
}

/** A gateway built from one config. */
export class Gateway {
  readonly #settings: GatehouseConfig["gateway"];
  readonly #live: LiveRuntime;
  readonly #supervisor: Supervisor;
  readonly #audit: AuditTrail;
  readonly #adminServer: Server | undefined;
  /** The service registry (`gateway.registry`), kept in this thread. */
  readonly #registry: ServiceRegistry | undefined;
  /** The process log (`gateway.log`); the CLI writes through it too. */
  readonly log: Logger;
  /**
   * Where every config change goes (file watcher, SIGHUP, admin API, etcd): validated,
   * persisted, applied by the supervisor, versioned and audited.
   */
  readonly control: ControlPlane;
  #stopping: Promise<void> | undefined;
  /** Aborted when stop() begins: the admin API's long answers end. */
  readonly #closing = new AbortController();

  constructor(config: GatehouseConfig, options: GatewayOptions = {}) {
    this.#settings = config.gateway;
    this.log = createLogger(config.gateway.log);
    const configFile = configOriginOf(config)?.file ?? join(process.cwd(), "gatehouse.yaml");
    const metrics = config.gateway.metrics.enabled
      ? new GatewayMetrics({
          services: () => this.#live.current.services.values(),
          openConnections: () => this.#supervisor.openConnections,
          certificates: () => this.#supervisor.certificates,
          serviceRegistry: () => this.#registry?.store.list() ?? [],
          serviceRegistryConnected: () => this.#registry?.store.connected,
        })
      : undefined;
    const registry = config.gateway.registry;
    this.#registry = registry
      ? new ServiceRegistry(
          { ...config.gateway, registry },
          { log: this.log, observer: metrics?.serviceRegistry },
        )
      : undefined;
    const health = new HealthSupervisor({ probes: metrics?.healthChecks });
    // The gateway's shared Redis clients; also what tells its cache stores apart (purges).
    const redis = new RedisConnections();
    this.#live = new LiveRuntime(config, {
      plugins: {
        registry: options.plugins ?? createPluginRegistry(),
        redis,
        baseDir: dirname(configFile),
      },
      log: this.log,
      telemetry: metrics?.plugins,
    });
    this.#supervisor = new Supervisor({
      config,
      live: this.#live,
      log: this.log,
      metrics,
      health,
      configFile,
      registry: this.#registry?.store,
      // Discovery's answers take their turn at the control plane's door, behind any config change.
      onDiscovered: (service, targets) => {
        this.control.submit({ kind: "targets", service, targets }).catch((error: Error) => {
          this.log.error({ service, err: error }, `discovered targets of ${service} not applied`);
        });
      },
      onCertificatesChanged: () => {
        this.control.submit({ kind: "certificates" }).catch((error: Error) => {
          this.log.error({ err: error }, "certificates not reloaded");
        });
      },
    });
    this.#audit = new AuditTrail(config.gateway.audit, this.log);
    this.control = new ControlPlane(this, config, this.#audit);
    const admin = config.gateway.admin;
    if (admin) {
      const supervisor = this.#supervisor;
      this.#adminServer = createAdminServer({
        settings: admin,
        control: this.control,
        runtime: () => this.#live.current,
        ...(metrics && {
          traffic: () => supervisor.traffic(),
          window: () => supervisor.requestWindow(),
        }),
        audit: this.#audit,
        closing: this.#closing.signal,
        purgeCache: (criteria) => purgeCaches(redis, criteria),
        registry: registry?.listen ? undefined : this.#registry?.api,
        log: this.log,
      });
    }
  }

  /** Binds every listener; resolves once all accept connections. */
  async start(): Promise<void> {
    try {
      // Registry services then start with the instances etcd holds, not an empty set.
      await this.#registry?.ready();
      await this.#supervisor.start();
      const admin = this.#settings.admin;
      if (admin && this.#adminServer) await listen(this.#adminServer, admin.port, admin.host);
      await this.#registry?.start();
    } catch (error) {
      await this.#closeAll();
      throw error;
    }
  }

  /** The node's client connection cap and where it came from, once started. */
  get clientConnectionCap(): ClientConnectionCap | undefined {
    return this.#supervisor.clientConnectionCap;
  }

  /** The bound addresses (useful with port 0). */
  addresses(): GatewayAddresses {
    const admin = this.#adminServer?.address() as AddressInfo | undefined;
    return {
      ...this.#supervisor.addresses(),
      admin,
      registry: this.#registry && (this.#registry.address() ?? admin),
    };
  }

  /**
   * Serves a new config from now on (its `gateway:` part is static and ignored). Requests
   * in flight finish on the runtime they started with; targets that stay keep their pool
   * and state; targets that went away are closed. WebSocket tunnels stay open unless their
   * route went away: those are closed with 1001 after `gateway.reload.webSocketGrace`.
   * Applied directly, past the control plane: no version record or audit entry (use
   * `control.submit` for that).
   */
  reload(config: GatehouseConfig, options: { version?: number } = {}): Promise<void> {
    return this.#supervisor.reload(config, options);
  }

  /** Gives a service of the serving config these targets (see Supervisor). */
  setTargets(service: string, targets: readonly TargetListing[]): boolean {
    return this.#supervisor.setTargets(service, targets);
  }

  /** Reads the listeners' certificate files again (see Supervisor). */
  reloadCertificates(): boolean {
    return this.#supervisor.reloadCertificates();
  }

  /** A reload was refused for `problems`; the last good config keeps serving (see Supervisor). */
  reloadRefused(problems: readonly string[] = []): void {
    this.#supervisor.reloadRefused(problems);
  }

  /** A reload found the config serving; true when it ended a refusal (see Supervisor). */
  reloadUnchanged(): boolean {
    return this.#supervisor.reloadUnchanged();
  }

  /** The config being served: its version since start, hash and when it was applied. */
  get revision(): ConfigRevision {
    return this.#supervisor.revision;
  }

  /**
   * The plugins this gateway knows. One registered here may be named by the configs applied
   * from now on (a reload, an admin change); the serving config was checked already.
   */
  get plugins(): PluginRegistry {
    return this.#live.plugins.registry;
  }

  /** The runtime requests are served from now. */
  get runtime(): Runtime {
    return this.#live.current;
  }

  /** Open WebSocket tunnels. */
  get tunnelCount(): number {
    return this.#supervisor.tunnelCount;
  }

  /**
   * Graceful stop: stop accepting, ask keep-alive clients to close, let in-flight requests
   * finish until `shutdownTimeout`, then close whatever is left (tunnels included).
   */
  stop(): Promise<void> {
    this.#closing.abort();
    this.#stopping ??= this.#supervisor.drain().then(() => this.#closeAll());
    return this.#stopping;
  }

  async #closeAll(): Promise<void> {
    await this.#registry?.close();
    const admin = this.#adminServer;
    if (admin) {
      admin.closeAllConnections();
      await new Promise((done) => admin.close(done));
    }
    await this.#supervisor.close();
    await this.#audit.close();
  }
}
