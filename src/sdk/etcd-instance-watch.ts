/**
 * @module sdk/etcd-instance-watch
 * Follows one service's instances straight from etcd, with the gateway's own etcd registry
 * store (registry/etcd-store): the same keys, the same mirror, the same events, so a client
 * sees what every gateway node on that etcd sees. One store per connection serves every
 * client of the process (one read, one watch); it is made on first use and closed with its
 * last client. etcd out of reach: the last known instances stand, as on a gateway node.
 */
import type { EtcdRegistryStore } from "../registry/etcd-store.ts";
import { type EtcdOptions, type EtcdSettings, etcdSettings } from "./etcd-options.ts";
import type { InstanceSource } from "./instance-source.ts";
import type { RegistryInstance } from "./instance-watch.ts";
import { RegistryError } from "./registry-endpoint.ts";
import { SyncLatch } from "./sync-latch.ts";

interface SharedStore {
  store: Promise<EtcdRegistryStore>;
  users: number;
}

/** The stores in use, by connection; the store module loads only when one is asked for. */
const stores = new Map<string, SharedStore>();

function useStore(settings: EtcdSettings): { store: Promise<EtcdRegistryStore>; key: string } {
  const key = JSON.stringify(settings);
  let shared = stores.get(key);
  if (!shared) {
    const store = import("../registry/etcd-store.ts").then(
      ({ EtcdRegistryStore }) => new EtcdRegistryStore(settings),
    );
    shared = { store, users: 0 };
    stores.set(key, shared);
  }
  shared.users++;
  return { store: shared.store, key };
}

async function releaseStore(key: string): Promise<void> {
  const shared = stores.get(key);
  if (!shared || --shared.users > 0) return;
  stores.delete(key);
  await (await shared.store).close();
}

/** One service's instances, as the etcd registry store's mirror holds them. */
export class EtcdInstanceWatch implements InstanceSource {
  readonly #service: string;
  readonly #onChange: (instances: readonly RegistryInstance[]) => void;
  readonly #endpoints: readonly string[];
  readonly #storeKey: string;
  #store: EtcdRegistryStore | undefined;
  #stopWatch: (() => void) | undefined;
  #instances: RegistryInstance[] = [];
  /** The store's first try to read etcd is over (it may have failed). */
  #tried = false;
  readonly #synced = new SyncLatch();
  #closed = false;

  /** Starts following `service`; `onChange` gets every instance after each change. */
  constructor(
    options: EtcdOptions,
    service: string,
    onChange: (instances: readonly RegistryInstance[]) => void,
    caller: string,
  ) {
    const settings = etcdSettings(options, caller);
    this.#service = service;
    this.#onChange = onChange;
    this.#endpoints = settings.connection.endpoints;
    const { store, key } = useStore(settings);
    this.#storeKey = key;
    void store.then((opened) => this.#follow(opened));
  }

  get instances(): RegistryInstance[] {
    return [...this.#instances];
  }

  get synced(): boolean {
    return this.#synced.isOpen;
  }

  get lastError(): RegistryError | undefined {
    if (!this.#tried || this.#store?.connected !== false || this.#closed) return undefined;
    return new RegistryError(
      503,
      "GATEHOUSE_REGISTRY_STORE_UNAVAILABLE",
      `cannot reach etcd at ${this.#endpoints.join(", ")}`,
    );
  }

  whenSynced(timeoutMs: number): Promise<void> {
    return this.#synced.wait(timeoutMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopWatch?.();
    this.#synced.stop();
    await releaseStore(this.#storeKey);
  }

  #follow(store: EtcdRegistryStore): void {
    if (this.#closed) return;
    this.#store = store;
    // The store tells the snapshot at once, then each change of this service.
    this.#stopWatch = store.watch(this.#service, () => this.#changed());
    void store.ready().then(() => {
      this.#tried = true;
    });
    void store.filled().then(() => {
      if (this.#closed) return;
      this.#synced.open();
      this.#changed();
    });
  }

  #changed(): void {
    if (this.#closed || !this.#store) return;
    this.#instances = this.#store.snapshot(this.#service).instances;
    this.#onChange(this.instances);
  }
}
