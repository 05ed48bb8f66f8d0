/**
 * @module registry/memory-store
 * The registry kept in this process (one node). A lease is a timestamp and one timer: a
 * heartbeat moves the timestamp and touches nothing else, so it costs the same with ten
 * instances or ten thousand; the timer, when it fires early (the lease was renewed since),
 * sleeps for what is left. A lease that runs out marks its instance down at once and
 * removes it `removeAfter` later, unless it registers again meanwhile.
 */
import { formatDuration } from "../config/units.ts";
import { type Clock, systemClock } from "../upstream/clock.ts";
import {
  type InstanceState,
  type InstanceView,
  instanceUrl,
  type Lease,
  type Registration,
} from "./instance.ts";
import { instanceView, isoTime } from "./instance-view.ts";
import { ServiceWatchers } from "./service-watchers.ts";
import type {
  PutResult,
  RegistryListener,
  RegistryObserver,
  RegistryStore,
  ServiceCount,
  ServiceSnapshot,
} from "./store.ts";

export interface MemoryRegistryOptions {
  /** How long a down instance is kept before it is removed, in ms. */
  removeAfter: number;
  clock?: Clock;
  observer?: RegistryObserver;
}

/** One instance and its lease (times on the store's clock). */
interface Entry {
  registration: Registration;
  url: string;
  /** What every lease of this registration shows alike, written once. */
  ttl: string;
  /** On the store's clock, as `lastHeartbeat` and `expiresAt`. */
  registeredAt: number;
  /** The lease's `registeredAt`, written once. */
  registeredIso: string;
  state: InstanceState;
  lastHeartbeat: number;
  expiresAt: number;
  /** The pending timer: the lease's check while up, the removal while down. */
  cancel: () => void;
}

/** A registry store in memory: one node's registry. */
export class MemoryRegistryStore implements RegistryStore {
  readonly #services = new Map<string, Map<string, Entry>>();
  readonly #watchers = new ServiceWatchers((service) => this.snapshot(service));
  readonly #clock: Clock;
  readonly #removeAfter: number;
  readonly #observer: RegistryObserver | undefined;
  /** Wall-clock milliseconds at the clock's zero, for the ISO times the API shows. */
  readonly #epoch: number;
  #revision = 0;

  constructor(options: MemoryRegistryOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#removeAfter = options.removeAfter;
    this.#observer = options.observer;
    this.#epoch = Date.now() - this.#clock.now();
  }

  async put(registration: Registration): Promise<PutResult> {
    const { service, id } = registration;
    let instances = this.#services.get(service);
    if (!instances) {
      instances = new Map();
      this.#services.set(service, instances);
    }
    const previous = instances.get(id);
    previous?.cancel();
    const now = this.#clock.now();
    const entry: Entry = {
      registration,
      url: instanceUrl(registration.address, registration.port),
      ttl: formatDuration(registration.ttlMs),
      registeredAt: now,
      registeredIso: this.#iso(now),
      state: "up",
      lastHeartbeat: now,
      expiresAt: now + registration.ttlMs,
      cancel: () => {},
    };
    instances.set(id, entry);
    this.#watchLease(entry);
    this.#observer?.registered(service);
    this.#watchers.emit({
      type: "put",
      service,
      revision: ++this.#revision,
      instance: this.#view(entry),
    });
    return { lease: this.#lease(entry), created: previous === undefined };
  }

  async heartbeat(service: string, id: string): Promise<Lease | undefined> {
    const entry = this.#services.get(service)?.get(id);
    if (entry?.state !== "up") return undefined;
    const now = this.#clock.now();
    this.#observer?.renewed(service, now - entry.lastHeartbeat);
    entry.lastHeartbeat = now;
    entry.expiresAt = now + entry.registration.ttlMs;
    return this.#lease(entry);
  }

  async remove(service: string, id: string): Promise<boolean> {
    const entry = this.#services.get(service)?.get(id);
    if (!entry) return false;
    this.#delete(entry);
    return true;
  }

  list(): ServiceCount[] {
    const counts: ServiceCount[] = [];
    for (const [name, instances] of this.#services) {
      let up = 0;
      for (const entry of instances.values()) if (entry.state === "up") up++;
      counts.push({ name, instances: instances.size, up, down: instances.size - up });
    }
    return counts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  snapshot(service: string): ServiceSnapshot {
    const instances = [...(this.#services.get(service)?.values() ?? [])];
    return {
      service,
      revision: this.#revision,
      instances: instances.map((entry) => this.#view(entry)),
    };
  }

  watch(service: string, listener: RegistryListener): () => void {
    return this.#watchers.watch(service, listener);
  }

  async close(): Promise<void> {
    this.#watchers.close();
    for (const instances of this.#services.values())
      for (const entry of instances.values()) entry.cancel();
  }

  /**
   * Checks the lease when it would run out: renewed since, it sleeps for what is left;
   * else the instance goes down.
   */
  #watchLease(entry: Entry): void {
    const check = () => {
      const left = entry.expiresAt - this.#clock.now();
      if (left > 0) entry.cancel = this.#clock.schedule(check, left);
      else this.#expire(entry);
    };
    entry.cancel = this.#clock.schedule(check, entry.registration.ttlMs);
  }

  #expire(entry: Entry): void {
    const { service, id } = entry.registration;
    entry.state = "down";
    entry.cancel = this.#clock.schedule(() => this.#delete(entry), this.#removeAfter);
    this.#observer?.expired(service);
    this.#watchers.emit({ type: "down", service, revision: ++this.#revision, id });
  }

  #delete(entry: Entry): void {
    const { service, id } = entry.registration;
    const instances = this.#services.get(service);
    if (instances?.get(id) !== entry) return;
    entry.cancel();
    instances.delete(id);
    if (instances.size === 0) this.#services.delete(service);
    this.#watchers.emit({ type: "delete", service, revision: ++this.#revision, id });
  }

  #lease(entry: Entry): Lease {
    const { service, id, ttlMs } = entry.registration;
    return {
      service,
      id,
      url: entry.url,
      ttl: entry.ttl,
      ttlMs,
      expiresAt: this.#iso(entry.expiresAt),
      registeredAt: entry.registeredIso,
    };
  }

  #view(entry: Entry): InstanceView {
    return instanceView(entry.registration, entry.state, {
      registeredAt: this.#epoch + entry.registeredAt,
      lastHeartbeat: this.#epoch + entry.lastHeartbeat,
    });
  }

  #iso(clockMs: number): string {
    return isoTime(this.#epoch + clockMs);
  }
}
