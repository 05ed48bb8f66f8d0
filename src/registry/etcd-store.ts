/**
 * @module registry/etcd-store
 * The registry shared by every gateway node on one etcd (and prefix). Each instance is a
 * key with one etcd lease of its own (see registry/etcd-layout): a registration grants the
 * lease and writes the instance in one transaction; a heartbeat is a keep-alive of the
 * lease (registry/etcd-keepalive: one round trip, no write, no event); deregistering
 * deletes the instance's keys and revokes its lease.
 *
 * Each node keeps a mirror of the registry, filled by one read and kept by ONE watch on the
 * registry's keys: reads answer from it at once, and each change etcd tells becomes the
 * registry events of the instances it touched, numbered by etcd's revision, so every node
 * tells the same events with the same numbers. Nothing is sent to a node per heartbeat,
 * and no node ever sends the whole registry.
 *
 * A missed lease: etcd deletes the instance's lease key, not its instance key, so every
 * node sees it `down` at once, from etcd's own deletion. `removeAfter` later each node asks
 * etcd to delete the instance key, only if it is still the same registration and still
 * down: the first to ask does, the others find it done, and everyone sees the `delete`.
 *
 * etcd out of reach: the mirror keeps the instances it knew (traffic goes on to them),
 * `connected` says false, and writes fail with GATEHOUSE_REGISTRY_STORE_UNAVAILABLE. The
 * watch reconnects by itself and replays what it missed; a watch etcd cancelled (its
 * history compacted past it) is replaced by a fresh read, turned into events by comparing
 * it with the mirror.
 */
import { Etcd3, type IKeyValue, type IWatchResponse } from "etcd3";
import { GatehouseError } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import { type EtcdConnection, etcdClientOptions } from "../providers/etcd-store.ts";
import { LeaseKeepAlive } from "./etcd-keepalive.ts";
import {
  decodeInstance,
  encodeInstance,
  type RegistryKey,
  RegistryKeys,
  type StoredInstance,
} from "./etcd-layout.ts";
import type { Lease, Registration } from "./instance.ts";
import { instanceView, leaseView } from "./instance-view.ts";
import type {
  PutResult,
  RegistryEvent,
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

/** One instance as this node's mirror holds it. */
interface Entry {
  stored: StoredInstance;
  /** The etcd revision that wrote its instance key. */
  revision: number;
  /** When this node last renewed its lease (other nodes' renewals are not told). */
  lastHeartbeat: number;
  /** The pending removal, while it is down. */
  removal?: NodeJS.Timeout | undefined;
}

/** One key changed: its instance, and what it holds now (undefined: deleted). */
interface Change {
  key: RegistryKey;
  value: Buffer | undefined;
  revision: number;
}

/** How long to wait before reading etcd again after a failed read, or a retried removal. */
const retryMs = 1_000;

/** A registry store in etcd: many nodes' registry. */
export class EtcdRegistryStore implements RegistryStore {
  readonly #client: Etcd3;
  readonly #keys: RegistryKeys;
  readonly #keepAlive: LeaseKeepAlive;
  readonly #timeoutMs: number;
  readonly #endpoints: readonly string[];
  readonly #removeAfter: number;
  readonly #log: Logger | undefined;
  readonly #observer: RegistryObserver | undefined;
  readonly #services = new Map<string, Map<string, Entry>>();
  /** `service/id` of the instances whose lease key exists (they are up). */
  readonly #alive = new Set<string>();
  readonly #watchers = new Map<string, Set<RegistryListener>>();
  /**
   * Writes of this node waiting for the watch to bring their revision into the mirror,
   * oldest revision first (a write's revision is mostly the newest: it goes at the end).
   */
  readonly #catchingUp: { revision: number; done(): void }[] = [];
  #watcher: ReturnType<ReturnType<Etcd3["watch"]>["watcher"]> | undefined;
  /** The revision of the last change in the mirror. */
  #revision = 0;
  #watching = false;
  /** Why the last call to etcd failed, until one succeeds. */
  #failure: Error | undefined;
  /** Whether `connected` was last said to be true (for the log lines). */
  #said: boolean | undefined;
  #retry: NodeJS.Timeout | undefined;
  readonly #loaded: Promise<void>;
  #closed = false;

  constructor(options: EtcdRegistryOptions) {
    const { connection } = options;
    this.#client = new Etcd3(etcdClientOptions(connection));
    this.#keys = new RegistryKeys(connection.prefix);
    this.#timeoutMs = connection.timeout;
    this.#endpoints = connection.endpoints;
    this.#keepAlive = new LeaseKeepAlive(this.#client, connection.timeout);
    this.#removeAfter = options.removeAfter;
    this.#log = options.log;
    this.#observer = options.observer;
    this.#loaded = this.#load();
  }

  /**
   * Resolves once the first read of etcd filled the mirror, or failed (then the store goes
   * on trying, and fills the mirror, telling each instance, once etcd answers).
   */
  ready(): Promise<void> {
    return this.#loaded;
  }

  /** Whether this node's mirror follows etcd now (its watch is connected, calls succeed). */
  get connected(): boolean {
    return this.#watching && this.#failure === undefined;
  }

  async put(registration: Registration): Promise<PutResult> {
    const { service, id } = registration;
    const grant = await this.#call(() =>
      this.#client.leaseClient.leaseGrant({ TTL: Math.ceil(registration.ttlMs / 1000) }),
    );
    const lease = String(grant.ID);
    // etcd counts whole seconds, and grants no less than its own minimum.
    const ttlMs = Math.max(registration.ttlMs, Number(grant.TTL) * 1000);
    const now = Date.now();
    const stored = { registration: { ...registration, ttlMs }, registeredAt: now, lease };
    const written = await this.#call(() =>
      this.#client.kv.txn({
        success: [
          {
            request_put: {
              key: this.#keys.instance(service, id),
              value: encodeInstance(stored),
              prev_kv: true,
            },
          },
          { request_put: { key: this.#keys.lease(service, id), value: Buffer.from(lease), lease } },
        ],
      }),
    ).catch((error: Error) => {
      this.#revoke(lease);
      throw error;
    });
    const previous = written.responses[0]?.response_put.prev_kv;
    const replaced = previous && decodeInstance(previous.value, { kind: "instance", service, id });
    if (replaced && replaced.lease !== lease) this.#revoke(replaced.lease);
    await this.#caughtUp(Number(written.header.revision));
    this.#observer?.registered(service);
    return {
      lease: leaseView(stored.registration, { registeredAt: now, lastHeartbeat: now }),
      created: !previous,
    };
  }

  async heartbeat(service: string, id: string): Promise<Lease | undefined> {
    let entry = this.#services.get(service)?.get(id);
    if (entry && !this.#alive.has(keyOf(service, id))) return undefined;
    // Registered through another node a moment ago: its watch event may still be on its way.
    const stored = entry?.stored ?? (await this.#read(service, id));
    if (!stored) return undefined;
    const left = await this.#call(() => this.#keepAlive.renew(stored.lease));
    if (left <= 0) return undefined;
    const now = Date.now();
    entry = this.#services.get(service)?.get(id);
    if (entry?.stored.lease === stored.lease) entry.lastHeartbeat = now;
    return leaseView(stored.registration, {
      registeredAt: stored.registeredAt,
      lastHeartbeat: now,
    });
  }

  async remove(service: string, id: string): Promise<boolean> {
    const removed = await this.#call(() =>
      this.#client.kv.txn({
        success: [
          { request_delete_range: { key: this.#keys.instance(service, id), prev_kv: true } },
          { request_delete_range: { key: this.#keys.lease(service, id) } },
        ],
      }),
    );
    const previous = removed.responses[0]?.response_delete_range.prev_kvs[0];
    if (!previous) return false;
    const stored = decodeInstance(previous.value, { kind: "instance", service, id });
    if (stored) this.#revoke(stored.lease);
    await this.#caughtUp(Number(removed.header.revision));
    return true;
  }

  list(): ServiceCount[] {
    const counts: ServiceCount[] = [];
    for (const [name, instances] of this.#services) {
      let up = 0;
      for (const id of instances.keys()) if (this.#alive.has(keyOf(name, id))) up++;
      counts.push({ name, instances: instances.size, up, down: instances.size - up });
    }
    return counts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  snapshot(service: string): ServiceSnapshot {
    const instances = [...(this.#services.get(service)?.entries() ?? [])];
    return {
      service,
      revision: this.#revision,
      instances: instances.map(([id, entry]) => this.#view(service, id, entry)),
    };
  }

  watch(service: string, listener: RegistryListener): () => void {
    if (this.#closed) return () => {};
    let watchers = this.#watchers.get(service);
    if (!watchers) {
      watchers = new Set();
      this.#watchers.set(service, watchers);
    }
    watchers.add(listener);
    listener({ type: "snapshot", ...this.snapshot(service) });
    return () => {
      const current = this.#watchers.get(service);
      if (!current?.delete(listener) || current.size > 0) return;
      this.#watchers.delete(service);
    };
  }

  /** Stops watching and closes the client; the instances stay in etcd (they are the cluster's). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#watchers.clear();
    clearTimeout(this.#retry);
    for (const instances of this.#services.values())
      for (const entry of instances.values()) clearTimeout(entry.removal);
    for (const waiter of [...this.#catchingUp]) waiter.done();
    this.#keepAlive.close();
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
    let kvs: IKeyValue[];
    let revision: number;
    try {
      const response = await this.#call(() => this.#client.getAll().prefix(this.#keys.root).exec());
      kvs = response.kvs;
      revision = Number(response.header.revision);
    } catch {
      if (!this.#closed) this.#retry = setTimeout(() => void this.#load(), retryMs).unref();
      return;
    }
    if (this.#closed) return;
    this.#apply(this.#differences(kvs, revision), revision);
    await this.#watch(revision + 1);
  }

  /** The changes that turn the mirror into what a full read found at `revision`. */
  #differences(kvs: IKeyValue[], revision: number): Change[] {
    const found = new Map<string, IKeyValue>();
    for (const kv of kvs) found.set(kv.key.toString(), kv);
    const changes: Change[] = [];
    // Keys gone since the mirror last heard of them.
    for (const [service, instances] of this.#services)
      for (const id of instances.keys())
        if (!found.has(this.#keys.instance(service, id).toString()))
          changes.push({ key: { kind: "instance", service, id }, value: undefined, revision });
    for (const alive of this.#alive) {
      const [service, id] = alive.split("/") as [string, string];
      if (!found.has(this.#keys.lease(service, id).toString()))
        changes.push({ key: { kind: "lease", service, id }, value: undefined, revision });
    }
    // Keys new, or written again, since.
    for (const [name, kv] of found) {
      const key = this.#keys.parse(name);
      if (!key) continue;
      const entry = this.#services.get(key.service)?.get(key.id);
      const known =
        key.kind === "instance"
          ? entry?.revision === Number(kv.mod_revision)
          : this.#alive.has(keyOf(key.service, key.id));
      if (!known) changes.push({ key, value: kv.value, revision: Number(kv.mod_revision) });
    }
    return changes;
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

  /**
   * Applies changes made at one revision to the mirror, then tells each instance they
   * touched once: `delete` when it is gone, `put` when it is new or registered again (or
   * back up), `down` when only its lease key went.
   */
  #apply(changes: Change[], revision: number): void {
    const before = new Map<string, { key: RegistryKey; revision?: number; alive: boolean }>();
    for (const { key } of changes) {
      const name = keyOf(key.service, key.id);
      if (before.has(name)) continue;
      const entry = this.#services.get(key.service)?.get(key.id);
      before.set(name, { key, revision: entry?.revision, alive: this.#alive.has(name) });
    }
    // Told once all are applied: a deregistration deletes both keys at one revision, which
    // is one `delete`, not a `down` (its lease key gone) and then a `delete`.
    for (const change of changes) this.#take(change);
    this.#revision = Math.max(this.#revision, revision);
    for (const [name, was] of before) this.#tell(name, was, revision);
    while (this.#catchingUp[0] && this.#catchingUp[0].revision <= this.#revision)
      this.#catchingUp[0].done();
  }

  #take({ key, value, revision }: Change): void {
    const { service, id } = key;
    const name = keyOf(service, id);
    if (key.kind === "lease") {
      if (value) this.#alive.add(name);
      else this.#alive.delete(name);
      return;
    }
    const instances = this.#services.get(service);
    const previous = instances?.get(id);
    clearTimeout(previous?.removal);
    const stored = value && decodeInstance(value, key);
    if (value && !stored)
      this.#log?.warn(
        { key: this.#keys.instance(service, id).toString() },
        "registry: an etcd key under the registry's prefix holds no instance Gatehouse wrote: left out",
      );
    if (!stored) {
      instances?.delete(id);
      if (instances?.size === 0) this.#services.delete(service);
      return;
    }
    const entry = { stored, revision, lastHeartbeat: stored.registeredAt };
    if (instances) instances.set(id, entry);
    else this.#services.set(service, new Map([[id, entry]]));
  }

  /** Tells one instance's watchers what changed since `was`, and keeps its removal timer. */
  #tell(
    name: string,
    was: { key: RegistryKey; revision?: number; alive: boolean },
    revision: number,
  ) {
    const { service, id } = was.key;
    const entry = this.#services.get(service)?.get(id);
    const alive = this.#alive.has(name);
    if (!entry) {
      if (was.revision !== undefined) this.#emit({ type: "delete", service, revision, id });
      return;
    }
    if (alive) {
      clearTimeout(entry.removal);
      entry.removal = undefined;
    } else entry.removal ??= this.#scheduleRemoval(service, id, entry, this.#removeAfter);
    if (entry.revision !== was.revision || (alive && !was.alive))
      this.#emit({ type: "put", service, revision, instance: this.#view(service, id, entry) });
    else if (was.alive && !alive) {
      this.#observer?.expired(service);
      this.#emit({ type: "down", service, revision, id });
    }
  }

  /**
   * Removes a down instance after `delayMs`: deletes its instance key if it is still this
   * registration and still down (another node may have done it, or it registered again).
   */
  #scheduleRemoval(service: string, id: string, entry: Entry, delayMs: number): NodeJS.Timeout {
    const remove = async () => {
      try {
        await this.#call(() =>
          this.#client.kv.txn({
            compare: [
              {
                key: this.#keys.instance(service, id),
                target: "Mod",
                result: "Equal",
                mod_revision: entry.revision,
              },
              {
                key: this.#keys.lease(service, id),
                target: "Version",
                result: "Equal",
                version: 0,
              },
            ],
            success: [{ request_delete_range: { key: this.#keys.instance(service, id) } }],
          }),
        );
      } catch {
        if (this.#closed || this.#services.get(service)?.get(id) !== entry) return;
        entry.removal = this.#scheduleRemoval(service, id, entry, retryMs);
      }
    };
    return setTimeout(() => void remove(), delayMs).unref();
  }

  /** An instance read from etcd itself (for one the mirror does not hold yet). */
  async #read(service: string, id: string): Promise<StoredInstance | undefined> {
    const kv = (
      await this.#call(() => this.#client.get(this.#keys.instance(service, id).toString()).exec())
    ).kvs[0];
    return kv && decodeInstance(kv.value, { kind: "instance", service, id });
  }

  /** Until the watch brought `revision` into the mirror (bounded: a write is done anyway). */
  #caughtUp(revision: number): Promise<void> {
    if (this.#revision >= revision || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = {
        revision,
        done: () => {
          clearTimeout(timer);
          const waiting = this.#catchingUp;
          const at = waiting.indexOf(waiter);
          if (at >= 0) waiting.splice(at, 1);
          resolve();
        },
      };
      const timer = setTimeout(waiter.done, this.#timeoutMs);
      let at = this.#catchingUp.length;
      while (at > 0 && this.#catchingUp[at - 1]!.revision > revision) at--;
      this.#catchingUp.splice(at, 0, waiter);
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

  #revoke(lease: string): void {
    this.#client.leaseClient.leaseRevoke({ ID: lease }).catch(() => {});
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

  #emit(event: RegistryEvent): void {
    if (this.#closed) return;
    const watchers = this.#watchers.get(event.service);
    if (watchers) for (const listener of [...watchers]) listener(event);
  }

  #view(service: string, id: string, entry: Entry) {
    const state = this.#alive.has(keyOf(service, id)) ? "up" : "down";
    return instanceView(entry.stored.registration, state, {
      registeredAt: entry.stored.registeredAt,
      lastHeartbeat: entry.lastHeartbeat,
    });
  }
}

const keyOf = (service: string, id: string) => `${service}/${id}`;
