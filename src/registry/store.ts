/**
 * @module registry/store
 * The contract every registry store keeps (memory, or etcd with one lease per instance):
 * writes are asynchronous (etcd's are round trips), reads answer from this node's
 * view at once (the etcd store's is the mirror its watch keeps), and every change to a
 * service's instances is one numbered event told to that service's watchers only. A
 * heartbeat changes nothing anyone watches, so it is never told.
 */
import type { InstanceView, Lease, Registration } from "./instance.ts";

/** A service's instances at one revision: what a watcher gets first. */
export interface ServiceSnapshot {
  service: string;
  revision: number;
  instances: InstanceView[];
}

/** How many instances a service has, and in which state. */
export interface ServiceCount {
  name: string;
  instances: number;
  up: number;
  down: number;
}

/**
 * One change to a service's instances, numbered by the registry's revision (one counter
 * for the registry, incremented per change). `put`: new, replaced, or back up after a
 * missed lease; `down`: its lease ran out; `delete`: deregistered, or removed a while after
 * it went down.
 */
export type RegistryEvent =
  | ({ type: "snapshot" } & ServiceSnapshot)
  | { type: "put"; service: string; revision: number; instance: InstanceView }
  | { type: "down"; service: string; revision: number; id: string }
  | { type: "delete"; service: string; revision: number; id: string };

/** Told of each event; must not throw. */
export type RegistryListener = (event: RegistryEvent) => void;

/** What a registration did. */
export interface PutResult {
  lease: Lease;
  /** False when it replaced an instance with the same id (up or down). */
  created: boolean;
}

/** Where a registry keeps its instances and their leases. */
export interface RegistryStore {
  /** Registers an instance, or replaces the one with its id (its lease starts again). */
  put(registration: Registration): Promise<PutResult>;
  /**
   * Renews an instance's lease; undefined when it has none (never registered, removed, or
   * down: a lapsed instance must register again).
   */
  heartbeat(service: string, id: string): Promise<Lease | undefined>;
  /** Deregisters an instance at once; false when there was none. */
  remove(service: string, id: string): Promise<boolean>;
  /** Every service with instances, by name. */
  list(): ServiceCount[];
  /** A service's instances now (an empty list when it has none). */
  snapshot(service: string): ServiceSnapshot;
  /**
   * Tells `listener` the service's snapshot at once, then every event of that service;
   * returns the function that stops it.
   */
  watch(service: string, listener: RegistryListener): () => void;
  /** Cancels the store's timers and watches; nothing is told after this. */
  close(): Promise<void>;
  /**
   * Whether the store reaches where it keeps instances (etcd): while it does not, reads
   * answer what it last knew and writes fail. Absent for a store in this process.
   */
  readonly connected?: boolean;
  /**
   * Resolves once the store holds what is kept elsewhere (etcd's first read), or its first
   * attempt failed (it goes on trying). Absent for a store in this process.
   */
  ready?(): Promise<void>;
}

/** What a store reports for the metrics; must not throw. */
export interface RegistryObserver {
  /** An instance registered (new or replaced). */
  registered(service: string): void;
  /** An instance missed its lease and went down. */
  expired(service: string): void;
  /**
   * A heartbeat renewed an instance's lease, `sinceMs` after the lease was last renewed
   * (its registration or its previous heartbeat). Called on every heartbeat: keep it cheap.
   */
  renewed(service: string, sinceMs: number): void;
}
