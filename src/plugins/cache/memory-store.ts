/**
 * @module plugins/cache/memory-store
 * Cache entries in this process: an LRU bounded in bytes (lru-cache's `maxSize` with each
 * entry's size), each entry expiring with its own TTL. A purge walks the entries: purges
 * are rare, and an index per URL and tag would cost every store.
 */
import { LRUCache } from "lru-cache";
import { type CacheEntry, entrySize } from "./entry.ts";
import { type CacheStore, type PurgeCriteria, selects } from "./store.ts";

export class MemoryCacheStore implements CacheStore {
  readonly kind = "memory";
  readonly #lru: LRUCache<string, CacheEntry>;

  /** `maxSize`: the most bytes the entries take together. */
  constructor(maxSize: number) {
    this.#lru = new LRUCache<string, CacheEntry>({
      maxSize,
      // An entry larger than the whole cache is refused by lru-cache, not stored.
      maxEntrySize: maxSize,
      sizeCalculation: (entry) => Math.max(1, entrySize(entry)),
      // Expired entries are dropped when read; the size bound clears the rest.
      ttlAutopurge: false,
    });
  }

  get(key: string): CacheEntry | undefined {
    return this.#lru.get(key);
  }

  set(key: string, entry: CacheEntry, ttlMs: number): void {
    this.#lru.set(key, entry, { ttl: Math.max(1, Math.ceil(ttlMs)) });
  }

  delete(key: string): void {
    this.#lru.delete(key);
  }

  async purge(criteria: PurgeCriteria): Promise<number> {
    const doomed: string[] = [];
    for (const [key, entry] of this.#lru.entries()) {
      if (selects(criteria, entry)) doomed.push(key);
    }
    let purged = 0;
    for (const key of doomed) {
      if (this.#lru.get(key, { allowStale: true })?.kind === "response") purged++;
      this.#lru.delete(key);
    }
    return purged;
  }

  storedBytes(): number {
    return this.#lru.calculatedSize;
  }

  /** How many entries are kept (responses and vary markers). */
  get size(): number {
    return this.#lru.size;
  }
}
