/**
 * @module plugins/cache/redis-store
 * Cache entries in Redis, shared by every gateway node that uses it: a purge sent to one
 * node removes them for all. Each entry is one binary value with its TTL; a set per URL
 * and per tag lists the entry keys, so a purge finds them without scanning entries (a
 * prefix purge scans only the URL sets' names). A command that fails or takes longer
 * than the store timeout is a miss (or a store that is skipped), reported at most every
 * 10 seconds: a slow Redis must never hold a request longer than that.
 */
import { fallbackLogger, type Logger } from "../../observability/logger.ts";
import {
  describeRedisTarget,
  type RedisConnections,
  type RedisLease,
  type RedisTarget,
} from "../../stores/redis.ts";
import { timedOut } from "../../stores/shared-deadline.ts";
import { type CacheEntry, decodeEntry, encodeEntry } from "./entry.ts";
import type { CacheStore, PurgeCriteria } from "./store.ts";

export interface RedisCacheStoreOptions extends RedisTarget {
  timeout: number;
  keyPrefix: string;
  /** Names the plugin instance in entry keys (e.g. `route:catalog`), the same on every node. */
  scope: string;
  connections: RedisConnections;
  log?: Logger;
}

const warningIntervalMs = 10_000;
const scanCount = 1000;

export class RedisCacheStore implements CacheStore {
  readonly kind = "redis";
  /** Commands Redis failed to answer in time. */
  failures = 0;
  readonly #lease: RedisLease;
  readonly #entryPrefix: string;
  readonly #urlPrefix: string;
  readonly #tagPrefix: string;
  readonly #where: string;
  readonly #log: Logger;
  readonly #timeout: number;
  #lastWarning = Number.NEGATIVE_INFINITY;

  constructor(options: RedisCacheStoreOptions) {
    this.#lease = options.connections.acquire(options, { timeout: options.timeout });
    this.#entryPrefix = `${options.keyPrefix}cache:e:${options.scope}:`;
    // Not per scope: a purge reaches the entries of every route.
    this.#urlPrefix = `${options.keyPrefix}cache:u:`;
    this.#tagPrefix = `${options.keyPrefix}cache:t:`;
    this.#where = describeRedisTarget(options);
    this.#log = options.log ?? fallbackLogger;
    this.#timeout = options.timeout;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const value = await this.#within(this.#lease.client.getBuffer(this.#entryPrefix + key));
    return value ? decodeEntry(value) : undefined;
  }

  async set(key: string, entry: CacheEntry, ttlMs: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const full = this.#entryPrefix + key;
    const multi = this.#lease.client.multi().set(full, encodeEntry(entry), "PX", ttl);
    const indexes = [
      this.#urlPrefix + entry.url,
      ...entry.tags.map((tag) => this.#tagPrefix + tag),
    ];
    for (const index of indexes) {
      // NX then GT: a new set gets the TTL, an existing one only ever lengthens it.
      multi.sadd(index, full).pexpire(index, ttl, "NX").pexpire(index, ttl, "GT");
    }
    await this.#within(multi.exec());
  }

  async delete(key: string): Promise<void> {
    await this.#within(this.#lease.client.del(this.#entryPrefix + key));
  }

  async purge(criteria: PurgeCriteria): Promise<number> {
    const client = this.#lease.client;
    let indexes: string[];
    if ("url" in criteria) indexes = [this.#urlPrefix + criteria.url];
    else if ("tag" in criteria) indexes = [this.#tagPrefix + criteria.tag];
    else {
      indexes = [];
      const match = `${this.#urlPrefix}${escapeGlob(criteria.prefix)}*`;
      let cursor = "0";
      do {
        const [next, keys] = await client.scan(cursor, "MATCH", match, "COUNT", scanCount);
        cursor = next;
        indexes.push(...keys);
      } while (cursor !== "0");
    }
    let purged = 0;
    for (const index of indexes) {
      const keys = await client.smembers(index);
      if (keys.length > 0) purged += await client.del(...keys);
      await client.del(index);
    }
    return purged;
  }

  storedBytes(): number {
    return 0;
  }

  close(): void {
    this.#lease.release();
  }

  /** A command's answer, or undefined (counted, reported) when it failed or took too long. */
  async #within<T>(command: Promise<T>): Promise<T | undefined> {
    try {
      const answer = await this.#lease.within(command);
      if (answer !== timedOut) return answer;
      this.#failed(`no answer within ${this.#timeout}ms`);
    } catch (error) {
      this.#failed((error as Error).message);
    }
    return undefined;
  }

  #failed(error: string): void {
    this.failures++;
    const now = Date.now();
    if (now - this.#lastWarning < warningIntervalMs) return;
    this.#lastWarning = now;
    this.#log.warn(
      { store: this.#where, error, failures: this.failures },
      "cache: the Redis store failed",
    );
  }
}

/** `text` matched literally by a Redis glob pattern. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
