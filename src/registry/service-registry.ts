/**
 * @module registry/service-registry
 * The gateway's service registry, put together from `gateway.registry`: the store (memory,
 * or etcd through `gateway.registry.etcd` or else the config store's connection), the HTTP
 * API, and the API's own listener when it has one (else the admin server serves the API).
 * Lives in the supervising thread only: the worker threads learn its instances as target
 * changes, like every other discovery answer.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { GatehouseConfig } from "../config/schema/index.ts";
import type { Logger } from "../observability/logger.ts";
import { listen } from "../server/proxy-listener.ts";
import type { Clock } from "../upstream/clock.ts";
import { RegistryApi } from "./api.ts";
import { EtcdRegistryStore } from "./etcd-store.ts";
import { MemoryRegistryStore } from "./memory-store.ts";
import { createRegistryServer } from "./server.ts";
import type { RegistryObserver, RegistryStore } from "./store.ts";

type GatewaySettings = GatehouseConfig["gateway"];
export type RegistrySettings = NonNullable<GatewaySettings["registry"]>;

export interface ServiceRegistryOptions {
  log: Logger;
  observer?: RegistryObserver | undefined;
  clock?: Clock;
  /** Milliseconds between a watch stream's keepalive comments (15 s by default). */
  keepAliveMs?: number;
}

/** The registry a gateway runs with `gateway.registry` set. */
export class ServiceRegistry {
  readonly store: RegistryStore;
  readonly api: RegistryApi;
  readonly #settings: RegistrySettings;
  readonly #server: Server | undefined;

  constructor(
    gateway: GatewaySettings & { registry: RegistrySettings },
    options: ServiceRegistryOptions,
  ) {
    const settings = gateway.registry;
    this.#settings = settings;
    this.store = createStore(gateway, options);
    const keys = [...settings.keys, ...(gateway.admin?.keys ?? [])];
    this.api = new RegistryApi({
      store: this.store,
      rules: settings,
      keys,
      ...(options.keepAliveMs !== undefined && { keepAliveMs: options.keepAliveMs }),
    });
    if (settings.listen)
      this.#server = createRegistryServer({
        api: this.api,
        keyless: keys.length === 0,
        log: options.log,
      });
  }

  /** Resolves once the store holds the instances kept in etcd (or could not reach it yet). */
  async ready(): Promise<void> {
    await this.store.ready?.();
  }

  /** Binds the registry API's own listener, when it has one. */
  async start(): Promise<void> {
    const { listen: address } = this.#settings;
    if (this.#server && address) await listen(this.#server, address.port, address.host);
  }

  /** The own listener's address (undefined when the admin listener serves the API). */
  address(): AddressInfo | undefined {
    return (this.#server?.address() ?? undefined) as AddressInfo | undefined;
  }

  /** Closes the listener (watch streams included) and the store's timers. */
  async close(): Promise<void> {
    const server = this.#server;
    if (server?.listening) {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    }
    await this.store.close();
  }
}

/** The store `gateway.registry.store` names (validation made sure etcd has a connection). */
function createStore(
  gateway: GatewaySettings & { registry: RegistrySettings },
  options: ServiceRegistryOptions,
): RegistryStore {
  const { removeAfter, store, etcd } = gateway.registry;
  if (store === "etcd")
    return new EtcdRegistryStore({
      connection: etcd ?? gateway.configStore.etcd!,
      removeAfter,
      log: options.log,
      observer: options.observer,
    });
  return new MemoryRegistryStore({
    removeAfter,
    ...(options.clock && { clock: options.clock }),
    ...(options.observer && { observer: options.observer }),
  });
}
