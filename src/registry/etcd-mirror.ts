/**
 * @module registry/etcd-mirror
 * One node's copy of the registry kept in etcd, which its reads answer from at once. It
 * takes the changes etcd tells (or a full read compared with it) one revision at a time,
 * and tells each instance they touched once, numbered by that revision, so every node tells
 * the same events with the same numbers: `delete` when both of its keys are gone, `put`
 * when its instance key was written (new, registered again) or its lease key came back,
 * `down` when only its lease key went (the lease ran out). A down instance is removed
 * `removeAfter` later through `removeDown`, tried again each second while it fails.
 */
import type { IKeyValue } from "etcd3";
import type { Logger } from "../observability/logger.ts";
import {
  decodeInstance,
  type RegistryKey,
  type RegistryKeys,
  type StoredInstance,
} from "./etcd-layout.ts";
import type { InstanceView } from "./instance.ts";
import { instanceView } from "./instance-view.ts";
import { ServiceWatchers } from "./service-watchers.ts";
import type { RegistryListener, RegistryObserver, ServiceCount, ServiceSnapshot } from "./store.ts";

/** One instance as the mirror holds it. */
export interface MirrorEntry {
  stored: StoredInstance;
  /** The etcd revision that wrote its instance key. */
  revision: number;
  /** When this node last renewed its lease (other nodes' renewals are not told). */
  lastHeartbeat: number;
  /** The pending removal, while it is down. */
  removal?: NodeJS.Timeout | undefined;
}

/** One key changed: its instance, and what it holds now (undefined: deleted). */
export interface Change {
  key: RegistryKey;
  value: Buffer | undefined;
  /** The revision that wrote it (for a deletion, that deleted it). */
  revision: number;
}

export interface RegistryMirrorOptions {
  keys: RegistryKeys;
  /** How long a down instance is kept before it is removed, in ms. */
  removeAfter: number;
  /**
   * Deletes a down instance's key in etcd if it is still the registration written at
   * `revision` and still down; throws when etcd did not answer (tried again a second later).
   */
  removeDown(service: string, id: string, revision: number): Promise<void>;
  log?: Logger | undefined;
  observer?: RegistryObserver | undefined;
}

/** What an instance was before a change: to tell what the change did to it. */
interface Before {
  key: RegistryKey;
  revision: number | undefined;
  alive: boolean;
}

const retryMs = 1_000;

/** The registry as this node last heard it from etcd. */
export class RegistryMirror {
  readonly #options: RegistryMirrorOptions;
  readonly #services = new Map<string, Map<string, MirrorEntry>>();
  /** `service/id` of the instances whose lease key exists (they are up). */
  readonly #alive = new Set<string>();
  readonly #watchers = new ServiceWatchers((service) => this.snapshot(service));
  /** The revision of the last change taken. */
  revision = 0;
  #closed = false;

  constructor(options: RegistryMirrorOptions) {
    this.#options = options;
  }

  /** An instance's entry, up or down. */
  entry(service: string, id: string): MirrorEntry | undefined {
    return this.#services.get(service)?.get(id);
  }

  /** Whether an instance's lease key exists. */
  isUp(service: string, id: string): boolean {
    return this.#alive.has(keyOf(service, id));
  }

  /** The changes that turn the mirror into what a full read found at `revision`. */
  differences(kvs: IKeyValue[], revision: number): Change[] {
    const { keys } = this.#options;
    const found = new Map<string, IKeyValue>();
    for (const kv of kvs) found.set(kv.key.toString(), kv);
    const changes: Change[] = [];
    // Keys gone since the mirror last heard of them.
    for (const [service, instances] of this.#services)
      for (const id of instances.keys())
        if (!found.has(keys.instance(service, id).toString()))
          changes.push({ key: { kind: "instance", service, id }, value: undefined, revision });
    for (const alive of this.#alive) {
      const [service, id] = alive.split("/") as [string, string];
      if (!found.has(keys.lease(service, id).toString()))
        changes.push({ key: { kind: "lease", service, id }, value: undefined, revision });
    }
    // Keys new, or written again, since.
    for (const [name, kv] of found) {
      const key = keys.parse(name);
      if (!key) continue;
      const known =
        key.kind === "instance"
          ? this.entry(key.service, key.id)?.revision === Number(kv.mod_revision)
          : this.isUp(key.service, key.id);
      if (!known) changes.push({ key, value: kv.value, revision: Number(kv.mod_revision) });
    }
    return changes;
  }

  /** Takes changes made at one revision, then tells each instance they touched once. */
  apply(changes: readonly Change[], revision: number): void {
    const before = new Map<string, Before>();
    for (const { key } of changes) {
      const name = keyOf(key.service, key.id);
      if (before.has(name)) continue;
      const revision = this.entry(key.service, key.id)?.revision;
      before.set(name, { key, revision, alive: this.#alive.has(name) });
    }
    // Told once all are taken: a deregistration deletes both keys at one revision, which
    // is one `delete`, not a `down` (its lease key gone) and then a `delete`.
    for (const change of changes) this.#take(change);
    this.revision = Math.max(this.revision, revision);
    for (const [name, was] of before) this.#tell(name, was, revision);
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
      revision: this.revision,
      instances: instances.map(([id, entry]) => this.#view(service, id, entry)),
    };
  }

  watch(service: string, listener: RegistryListener): () => void {
    return this.#watchers.watch(service, listener);
  }

  /** Tells nothing more and cancels the removals. */
  close(): void {
    this.#closed = true;
    this.#watchers.close();
    for (const instances of this.#services.values())
      for (const entry of instances.values()) clearTimeout(entry.removal);
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
    clearTimeout(instances?.get(id)?.removal);
    const stored = value && decodeInstance(value, key);
    if (value && !stored)
      this.#options.log?.warn(
        { key: this.#options.keys.instance(service, id).toString() },
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
  #tell(name: string, was: Before, revision: number): void {
    const { service, id } = was.key;
    const entry = this.entry(service, id);
    const alive = this.#alive.has(name);
    if (!entry) {
      if (was.revision !== undefined)
        this.#watchers.emit({ type: "delete", service, revision, id });
      return;
    }
    if (alive) {
      clearTimeout(entry.removal);
      entry.removal = undefined;
    } else entry.removal ??= this.#scheduleRemoval(service, id, entry, this.#options.removeAfter);
    if (entry.revision !== was.revision || (alive && !was.alive))
      this.#watchers.emit({
        type: "put",
        service,
        revision,
        instance: this.#view(service, id, entry),
      });
    else if (was.alive && !alive) {
      this.#options.observer?.expired(service);
      this.#watchers.emit({ type: "down", service, revision, id });
    }
  }

  /**
   * Removes a down instance after `delayMs` (every node asks; the first does it, the
   * others' requests find a newer revision or no key, and change nothing).
   */
  #scheduleRemoval(service: string, id: string, entry: MirrorEntry, delayMs: number) {
    const remove = () =>
      this.#options.removeDown(service, id, entry.revision).catch(() => {
        if (this.#closed || this.entry(service, id) !== entry) return;
        entry.removal = this.#scheduleRemoval(service, id, entry, retryMs);
      });
    return setTimeout(() => void remove(), delayMs).unref();
  }

  #view(service: string, id: string, entry: MirrorEntry): InstanceView {
    const state = this.isUp(service, id) ? "up" : "down";
    return instanceView(entry.stored.registration, state, {
      registeredAt: entry.stored.registeredAt,
      lastHeartbeat: entry.lastHeartbeat,
    });
  }
}

const keyOf = (service: string, id: string) => `${service}/${id}`;
