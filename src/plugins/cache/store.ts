/**
 * @module plugins/cache/store
 * Where cache entries live: the contract the memory and Redis stores share, and what a
 * purge selects. A memory store answers synchronously, so a hit stays on the pipeline's
 * synchronous path; Redis answers with a promise.
 */
import type { CacheEntry } from "./entry.ts";

/** What `DELETE /cache` removes: entries of one URL, of URLs under a prefix, or of a tag. */
export type PurgeCriteria = { url: string } | { prefix: string } | { tag: string };

export interface CacheStore {
  readonly kind: "memory" | "redis";
  /** The entry under `key`; undefined when there is none (or the store failed). */
  get(key: string): CacheEntry | undefined | Promise<CacheEntry | undefined>;
  /** Keeps `entry` under `key` for `ttlMs`. */
  set(key: string, entry: CacheEntry, ttlMs: number): void | Promise<void>;
  delete(key: string): void | Promise<void>;
  /** Removes the entries `criteria` selects; resolves to how many. */
  purge(criteria: PurgeCriteria): Promise<number>;
  /** Bytes the entries take (memory: the LRU's count; Redis: not tracked, 0). */
  storedBytes(): number;
}

/** Whether an entry's URL and tags are selected by `criteria`. */
export function selects(
  criteria: PurgeCriteria,
  entry: { url: string; tags: readonly string[] },
): boolean {
  if ("url" in criteria) return entry.url === criteria.url;
  if ("prefix" in criteria) return entry.url.startsWith(criteria.prefix);
  return entry.tags.includes(criteria.tag);
}
