/**
 * @module providers/etcd-cache
 * The local copy of the last config a node applied from etcd (`configStore.etcd.cache`),
 * so the node can start while etcd is down. It holds the document as written: secrets stay
 * `${env:…}`/`${file:…}`/`${enc:…}` references, never resolved values; still mode 0600,
 * since a config may hold plain secrets too. Written atomically (a new file renamed over
 * the old), so a crash never leaves half a cache.
 */
import { randomBytes } from "node:crypto";
import { readFile, rename, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { ConfigDocument } from "../config/document.ts";
import type { CurrentVersion } from "./etcd-store.ts";

/** What the cache file holds: the version as etcd had it, and its dynamic sections. */
export interface CachedVersion {
  current: CurrentVersion;
  sections: ConfigDocument;
}

/** Replaces the cache with `cached`. */
export async function writeEtcdCache(file: string, cached: CachedVersion): Promise<void> {
  const temporary = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString("hex")}.tmp`);
  try {
    await writeFile(temporary, JSON.stringify(cached), { mode: 0o600, flush: true });
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}

/**
 * Writes one node's cache a version at a time, in the order asked: two writes in flight
 * could otherwise rename out of order and leave an older version cached. A version at or
 * below the last one cached is skipped, unless etcd's history started over (`restart`).
 */
export class EtcdCacheWriter {
  readonly file: string;
  #queue: Promise<void> = Promise.resolve();
  #last: number | undefined;

  constructor(file: string) {
    this.file = file;
  }

  write(cached: CachedVersion, restart = false): Promise<void> {
    const run = this.#queue.then(async () => {
      const { version } = cached.current;
      if (!restart && this.#last !== undefined && version <= this.#last) return;
      await writeEtcdCache(this.file, cached);
      this.#last = version;
    });
    this.#queue = run.catch(() => {});
    return run;
  }
}

/** The cached version; undefined when there is no cache file yet. */
export async function readEtcdCache(file: string): Promise<CachedVersion | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return JSON.parse(text) as CachedVersion;
}
