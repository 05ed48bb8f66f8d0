/**
 * @module registry/etcd-store
 * The registry shared by every gateway node on one etcd (and prefix). Each instance is a
 * key with one etcd lease of its own (see registry/etcd-layout): a registration grants the
 * lease and writes the instance in one transaction; a heartbeat is a keep-alive of the
 * lease (registry/etcd-keepalive: one round trip, no write, no event); deregistering
 * deletes the instance's keys and revokes its lease.
 *
 * Each node keeps a mirror of the registry (registry/etcd-mirror), filled by one read and
 * kept by ONE watch on the registry's keys: reads answer from it at once, and each change
 * becomes the events of the instances it touched, numbered by etcd's revision. Nothing is
 * sent to a node per heartbeat, and no node ever sends the whole registry. A write
 * resolves once the watch brought it into this node's mirror, so a read after it sees it.
 *
 * A missed lease: etcd deletes the instance's lease key, not its instance key, so every
 * node sees it `down` at once, from etcd's own deletion. `removeAfter` later each node asks
 * etcd to delete the instance key, only if it is still the same registration and still
 * down: the first to ask does, and everyone sees the `delete`.
 *
 * etcd out of reach: the mirror keeps the instances it knew (traffic goes on to them),
 * `connected` says false, and writes fail with GATEHOUSE_REGISTRY_STORE_UNAVAILABLE. The
 * watch reconnects by itself and replays what it missed; a watch etcd cancelled (its
 * history compacted past it) is replaced by a fresh read, compared with the mirror.
 */
import { Etcd3, type IRangeResponse, type IWatchResponse } from "etcd3";
import { GatehouseError } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import { type EtcdConnection, etcdClientOptions } from "../providers/etcd-store.ts";
import { RegistryKeys } from "./etcd-layout.ts";
import { type Change, RegistryMirror } from "./etcd-mirror.ts";
import { EtcdInstanceWrites } from "./etcd-writes.ts";
import type { Lease, Registration } from "./instance.ts";
import { leaseView } from "./instance-view.ts";
import type {
  PutResult,
  RegistryListener,
  RegistryObserver,
  RegistryStore,
  ServiceCount,
  ServiceSnapshot,
} from "./store.ts";

export interface EtcdRegistryOptions {
  connection: EtcdConnection;
  /** How long a down instance is kept before it is removed, in ms. */
  removeAfter: number;
  log?: Logger | undefined;
  observer?: RegistryObserver | undefined;
}

/** A write of this node waiting for the watch to bring its revision into the mirror. */
interface CatchingUp {
  revision: number;
  done(): void;
}

/** How long to wait before reading etcd again after a failed read. */
const retryMs = 1_000;

/** A registry store in etcd: many nodes' registry. */
export class EtcdRegistryStore implements RegistryStore {
  readonly #client: Etcd3;
  readonly #keys: RegistryKeys;
  readonly #writes: EtcdInstanceWrites;
  readonly #mirror: RegistryMirror;
  readonly #timeoutMs: number;
  readonly #endpoints: readonly string[];
  readonly #log: Logger | undefined;
  readonly #observer: RegistryObserver | undefined;
  /** Oldest revision first (a write's revision is mostly the newest: it goes at the end). */
  readonly #catchingUp: CatchingUp[] = [];
  #watcher: ReturnType<ReturnType<Etcd3["watch"]>["watcher"]> | undefined;
  #watching = false;
  /** Why the last call to etcd failed, until one succeeds. */
  #failure: Error | undefined;
  /** Whether `connected` was last said to be true (for the log lines). */
  #said: boolean | undefined;
  #retry: NodeJS.Timeout | undefined;
  readonly #loaded: Promise<void>;
  readonly #filled: Promise<void>;
  #fill!: () => void;
  #closed = false;

  constructor(options: EtcdRegistryOptions) {
    const { connection } = options;
    this.#client = new Etcd3(etcdClientOptions(connection));
    this.#keys = new RegistryKeys(connection.prefix);
    this.#timeoutMs = connection.timeout;
    this.#endpoints = connection.endpoints;
    this.#writes = new EtcdInstanceWrites(this.#client, this.#keys, connection.timeout);
    this.#log = options.log;
    this.#observer = options.observer;
    this.#mirror = new RegistryMirror({
      keys: this.#keys,
      removeAfter: options.removeAfter,
      removeDown: (service, id, revision) =>
        this.#call(() => this.#writes.removeDown(service, id, revision)),
      log: options.log,
      observer: options.observer,
    });
    this.#filled = new Promise((resolve) => {
      this.#fill = resolve;
    });
    this.#loaded = this.#load();
  }

  /**
   * Resolves once the first read of etcd filled the mirror and the watch is on, or the
   * read failed (then the store goes on trying, and tells each instance once it can).
   */
  ready(): Promise<void> {
    return this.#loaded;
  }

  /**
   * Resolves once the mirror first holds what etcd holds (a read succeeded), however many
   * tries that took; never, if the store closes first.
   */
  filled(): Promise<void> {
    return this.#filled;
  }

  /** Whether this node's mirror follows etcd now (its watch is connected, calls succeed). */
  get connected(): boolean {
    return this.#watching && this.#failure === undefined;
  }

  async put(registration: Registration): Promise<PutResult> {
    const { stored, revision, created } = await this.#call(() => this.#writes.put(registration));
    await this.#caughtUp(revision);
    this.#observer?.registered(registration.service);
    const { registeredAt } = stored;
    return {
      lease: leaseView(stored.registration, { registeredAt, lastHeartbeat: registeredAt }),
      created,
    };
  }

  async heartbeat(service: string, id: string): Promise<Lease | undefined> {
    const known = this.#mirror.entry(service, id);
    if (known && !this.#mirror.isUp(service, id)) return undefined;
    // Registered through another node a moment ago: its watch event may still be on its way.
    const stored = known?.stored ?? (await this.#call(() => this.#writes.read(service, id)));
    if (!stored) return undefined;
    const left = await this.#call(() => this.#writes.renew(stored.lease));
    if (left <= 0) return undefined;
    const now = Date.now();
    const entry = this.#mirror.entry(service, id);
    const seen = entry?.stored.lease === stored.lease ? entry : undefined;
    // The last renewal this node saw (heartbeats are not broadcast). Longer ago than etcd
    // keeps the lease, it cannot be the last one: another node renewed it since, when, this
    // one cannot tell, so nothing is observed.
    const since = now - (seen?.lastHeartbeat ?? stored.registeredAt);
    if (since <= left * 1000) this.#observer?.renewed(service, Math.max(0, since));
    if (seen) seen.lastHeartbeat = now;
    return leaseView(stored.registration, {
      registeredAt: stored.registeredAt,
      lastHeartbeat: now,
    });
  }

  async remove(service: string, id: string): Promise<boolean> {
    const revision = await this.#call(() => this.#writes.remove(service, id));
    if (revision === undefined) return false;
    await this.#caughtUp(revision);
    return true;
  }

  list(): ServiceCount[] {
    return this.#mirror.list();
  }

  snapshot(service: string): ServiceSnapshot {
    return this.#mirror.snapshot(service);
  }

  watch(service: string, listener: RegistryListener): () => void {
    return this.#closed ? () => {} : this.#mirror.watch(service, listener);
  }

  /** Stops watching and closes the client; the instances stay in etcd (they are the cluster's). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#mirror.close();
    for (const waiter of [...this.#catchingUp]) waiter.done();
    this.#writes.close();
    await this.#watcher?.cancel().catch(() => {});
    this.#client.close();
  }

  /**
   * Reads every registry key and makes the mirror match (telling what differs), then
   * watches from the revision after the read. On failure, tries again a second later.
   */
  async #load(): Promise<void> {
    clearTimeout(this.#retry);
    if (this.#closed) return;
    let read: IRangeResponse;
    try {
      read = await this.#call(() => this.#client.getAll().prefix(this.#keys.root).exec());
    } catch {
      if (!this.#closed) this.#retry = setTimeout(() => void this.#load(), retryMs).unref();
      return;
    }
    if (this.#closed) return;
    const revision = Number(read.header.revision);
    this.#apply(this.#mirror.differences(read.kvs, revision), revision);
    this.#fill();
    await this.#watch(revision + 1);
  }

  /**
   * ONE watch on the registry's keys from `revision`; etcd3 resumes it after a reconnect.
   * Resolves once etcd took it (or refused it).
   */
  #watch(revision: number): Promise<void> {
    const watcher = this.#client
      .watch()
      .prefix(this.#keys.root)
      .startRevision(String(revision))
      .watcher();
    this.#watcher = watcher;
    // Thrown from here, an error would be rethrown by etcd3 outside any catch: the process exits.
    watcher.on("data", (response: IWatchResponse) => {
      try {
        this.#changed(response);
      } catch (error) {
        this.#log?.error({ err: error }, "registry: a change from etcd was not applied");
      }
    });
    watcher.on("connected", () => this.#setWatching(true));
    watcher.on("disconnected", (error: Error) => this.#setWatching(false, error));
    // etcd cancelled the watch (its history was compacted past it): read everything again.
    watcher.on("error", (error: Error) => {
      this.#setWatching(false, error);
      void watcher.cancel().catch(() => {});
      if (this.#watcher === watcher && !this.#closed)
        this.#retry = setTimeout(() => void this.#load(), retryMs).unref();
    });
    return new Promise((resolve) => {
      for (const event of ["connected", "disconnected", "error"]) watcher.once(event, resolve);
    });
  }

  /** A watch response: its changes applied revision by revision. */
  #changed(response: IWatchResponse): void {
    let batch: Change[] = [];
    for (const event of response.events) {
      const key = this.#keys.parse(event.kv.key);
      if (!key) continue;
      const revision = Number(event.kv.mod_revision);
      if (batch.length > 0 && batch[0]!.revision !== revision) {
        this.#apply(batch, batch[0]!.revision);
        batch = [];
      }
      batch.push({ key, value: event.type === "Put" ? event.kv.value : undefined, revision });
    }
    if (batch.length > 0) this.#apply(batch, batch[0]!.revision);
  }

  #apply(changes: Change[], revision: number): void {
    this.#mirror.apply(changes, revision);
    const waiting = this.#catchingUp;
    while (waiting[0] && waiting[0].revision <= this.#mirror.revision) waiting[0].done();
  }

  /** Until the watch brought `revision` into the mirror (bounded: the write is done anyway). */
  #caughtUp(revision: number): Promise<void> {
    if (this.#mirror.revision >= revision || this.#closed) return Promise.resolve();
    const waiting = this.#catchingUp;
    return new Promise((resolve) => {
      const waiter = {
        revision,
        done: () => {
          clearTimeout(timer);
          const at = waiting.indexOf(waiter);
          if (at >= 0) waiting.splice(at, 1);
          resolve();
        },
      };
      const timer = setTimeout(waiter.done, this.#timeoutMs);
      let at = waiting.length;
      while (at > 0 && waiting[at - 1]!.revision > revision) at--;
      waiting.splice(at, 0, waiter);
    });
  }

  /** A call to etcd; a failure is GATEHOUSE_REGISTRY_STORE_UNAVAILABLE, and marks the store cut off. */
  async #call<T>(work: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await work();
    } catch (error) {
      this.#failure = error as Error;
      this.#say();
      throw new GatehouseError(
        "GATEHOUSE_REGISTRY_STORE_UNAVAILABLE",
        `cannot reach etcd at ${this.#endpoints.join(", ")} (${(error as Error).message}): nothing changed; retry when etcd is back`,
      );
    }
    if (this.#failure) {
      this.#failure = undefined;
      this.#say();
    }
    return result;
  }

  #setWatching(watching: boolean, error?: Error): void {
    this.#watching = watching;
    if (watching) this.#failure = undefined;
    else this.#failure ??= error;
    this.#say();
  }

  /** Logs `connected` each time it changes: a warning when cut off, an info line when back. */
  #say(): void {
    const connected = this.connected;
    // Not connected yet and nothing failed: the store is starting.
    if (connected === this.#said || this.#closed || (!connected && !this.#failure)) return;
    const was = this.#said;
    this.#said = connected;
    const fields = { endpoints: this.#endpoints };
    if (!connected)
      this.#log?.warn(
        { ...fields, error: this.#failure?.message },
        "registry: etcd unreachable: routing to the instances last known, retrying; registrations are refused",
      );
    else if (was === false) this.#log?.info(fields, "registry: etcd reachable again");
  }
}
