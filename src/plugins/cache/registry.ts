/**
 * @module plugins/cache/registry
 * The cache stores of one gateway, for the admin API's purge and so a reload keeps the
 * memory entries: a memory store is shared by the plugin instances of one place (route,
 * service or global) and size, reference counted, and survives the reload that creates
 * new instances before the old ones close. The gateway is told apart by its Redis
 * connections object (`scope.redis`), of which each gateway (and each worker thread)
 * has exactly one.
 */
import type { RedisConnections } from "../../stores/redis.ts";
import { MemoryCacheStore } from "./memory-store.ts";
import type { CacheStore, PurgeCriteria } from "./store.ts";

interface GatewayCaches {
  /** Every open store, memory and Redis alike, with how many instances use it. */
  stores: Map<CacheStore, number>;
  memory: Map<string, MemoryCacheStore>;
}

const byGateway = new WeakMap<RedisConnections, GatewayCaches>();

function cachesOf(gateway: RedisConnections): GatewayCaches {
  let caches = byGateway.get(gateway);
  if (caches === undefined) {
    caches = { stores: new Map(), memory: new Map() };
    byGateway.set(gateway, caches);
  }
  return caches;
}

/** The memory store for `place` and `maxSize`, shared; give it back with releaseStore. */
export function acquireMemoryStore(
  gateway: RedisConnections,
  place: string,
  maxSize: number,
): MemoryCacheStore {
  const caches = cachesOf(gateway);
  const id = `${place}\n${maxSize}`;
  let store = caches.memory.get(id);
  if (store === undefined) {
    store = new MemoryCacheStore(maxSize);
    caches.memory.set(id, store);
  }
  caches.stores.set(store, (caches.stores.get(store) ?? 0) + 1);
  return store;
}

/** Lists a store the gateway's purges reach (a Redis store: its instance's own). */
export function registerStore(gateway: RedisConnections, store: CacheStore): void {
  const caches = cachesOf(gateway);
  caches.stores.set(store, (caches.stores.get(store) ?? 0) + 1);
}

/** An instance is done with `store`; the last one drops it. */
export function releaseStore(gateway: RedisConnections, store: CacheStore): void {
  const caches = cachesOf(gateway);
  const users = (caches.stores.get(store) ?? 1) - 1;
  if (users > 0) {
    caches.stores.set(store, users);
    return;
  }
  caches.stores.delete(store);
  for (const [id, memory] of caches.memory) if (memory === store) caches.memory.delete(id);
}

/** What a purge removed. */
export interface PurgeResult {
  /** Responses removed (in Redis, entry keys deleted). */
  purged: number;
  /** Which kinds of store it reached. */
  stores: ("memory" | "redis")[];
}

/**
 * Removes what `criteria` selects from every cache store of the gateway: its memory
 * stores (this node only) and its Redis stores (every node sharing the Redis).
 */
export async function purgeCaches(
  gateway: RedisConnections,
  criteria: PurgeCriteria,
): Promise<PurgeResult> {
  const kinds = new Set<"memory" | "redis">();
  let purged = 0;
  for (const store of cachesOf(gateway).stores.keys()) {
    kinds.add(store.kind);
    purged += await store.purge(criteria);
  }
  return { purged, stores: [...kinds].sort() };
}
