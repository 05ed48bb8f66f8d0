/**
 * @module plugins/cache/entry
 * What the cache stores: a response (status, the headers sent to clients, the body, its
 * RFC 9111 policy, its URL and tags for purging) or, under a primary key whose response
 * varies on request headers, a marker naming them. Entries cross to Redis as one binary
 * value (the JSON head's length, the head, the body); in memory each keeps its parsed
 * policy and the header record a hit answers with, computed once.
 */
import CachePolicy from "http-cache-semantics";

/** A stored response. */
export interface CachedResponse {
  kind: "response";
  /** `scheme://host/path?query` as the client asked for it: what purges by URL match. */
  url: string;
  tags: readonly string[];
  status: number;
  /** The headers a hit sends (lower-case names; repeated headers joined), without Age. */
  headers: Readonly<Record<string, string>>;
  body: Buffer;
  policy: CachePolicy;
  /** The Vary names besides Accept-Encoding (always in the key), lower-case, sorted. */
  vary: readonly string[];
  /** Computed once per entry (see timed), never stored: what a hit reads. */
  freshUntil: number;
  /** The entry's age (seconds) at `timedAt` (ms since the epoch). */
  ageAtTimed: number;
  timedAt: number;
  /** `headers` with `X-Cache-Status: HIT`, for the hit path. */
  hitHeaders: Readonly<Record<string, string>>;
}

/** The parts of a response entry that are stored; `timed` adds the rest. */
export type StoredParts = Omit<
  CachedResponse,
  "freshUntil" | "ageAtTimed" | "timedAt" | "hitHeaders"
>;

/**
 * The entry with what a hit reads computed now: until when it is fresh, its age, and its
 * answer headers, so that a hit asks the policy nothing.
 */
export function timed(parts: StoredParts): CachedResponse {
  const now = Date.now();
  const age = parts.policy.age();
  return {
    ...parts,
    freshUntil: now + Math.max(0, parts.policy.maxAge() - age) * 1000,
    ageAtTimed: age,
    timedAt: now,
    hitHeaders: { ...parts.headers, "x-cache-status": "HIT" },
  };
}

/** The entry's Age header value now. */
export function ageOf(entry: CachedResponse, now: number): string {
  return String(Math.floor(entry.ageAtTimed + (now - entry.timedAt) / 1000));
}

/** Under a primary key: the response varies on these request headers (see key.ts). */
export interface VaryMarker {
  kind: "vary";
  url: string;
  tags: readonly string[];
  vary: readonly string[];
}

export type CacheEntry = CachedResponse | VaryMarker;

/** Bytes an entry takes, for the memory store's bound (a rough count of its parts). */
export function entrySize(entry: CacheEntry): number {
  let size = 256 + entry.url.length;
  for (const tag of entry.tags) size += tag.length;
  if (entry.kind === "vary") return size;
  for (const name in entry.headers) size += name.length + entry.headers[name]!.length;
  return size + entry.body.length;
}

/** The binary form kept in Redis. */
export function encodeEntry(entry: CacheEntry): Buffer {
  const head =
    entry.kind === "vary"
      ? entry
      : {
          kind: entry.kind,
          url: entry.url,
          tags: entry.tags,
          status: entry.status,
          headers: entry.headers,
          vary: entry.vary,
          policy: entry.policy.toObject(),
        };
  const json = Buffer.from(JSON.stringify(head));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return entry.kind === "vary"
    ? Buffer.concat([length, json])
    : Buffer.concat([length, json, entry.body]);
}

/** The entry `encodeEntry` wrote; undefined for a value that is not one. */
export function decodeEntry(value: Buffer): CacheEntry | undefined {
  try {
    const length = value.readUInt32BE(0);
    const head = JSON.parse(value.subarray(4, 4 + length).toString());
    if (head.kind === "vary") return head as VaryMarker;
    return timed({
      ...head,
      policy: CachePolicy.fromObject(head.policy),
      body: value.subarray(4 + length),
    } as StoredParts);
  } catch {
    return undefined;
  }
}

/** Response headers never stored: the gateway's own per answer, and hop-by-hop ones. */
const notStored = new Set([
  "x-request-id",
  "connection",
  "content-length",
  "age",
  "x-cache-status",
  "transfer-encoding",
]);

/** A header list (as onResponse sees it) as the record a hit answers with. */
export function storedHeaders(
  headers: readonly string[],
  tagHeader: string,
): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase();
    if (notStored.has(name) || name === tagHeader) continue;
    const value = headers[i + 1]!;
    record[name] = record[name] === undefined ? value : `${record[name]}, ${value}`;
  }
  return record;
}
