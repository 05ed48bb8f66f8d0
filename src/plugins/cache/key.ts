/**
 * @module plugins/cache/key
 * Cache keys. A key is the SHA-256 of the request's parts, each written with its length
 * before it, so no choice of characters in one part (a `|`, a newline, a `=` in a query
 * value) can make two different requests share a key. The primary key names the resource
 * (method, scheme, host, path, the query as configured, Accept-Encoding, the API version,
 * configured headers, consumer); a response that varies on more headers is stored under a variant
 * key, which adds those headers' values.
 */
import { createHash } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { CacheKeyConfig } from "./schema.ts";

/** What a key is built from: the request as the plugin sees it. */
export interface KeyedRequest {
  method: string;
  scheme: string;
  host: string;
  path: string;
  /** Without its `?`; empty for none. */
  query: string;
  headers: Readonly<IncomingHttpHeaders>;
  consumer: string | undefined;
  /** The API version the router resolved (`gateway.versioning`), if any. */
  apiVersion: string | undefined;
}

/** Builds primary keys as the route's `key` option says. */
export type PrimaryKey = (request: KeyedRequest) => string;

export function compilePrimaryKey(config: CacheKeyConfig): PrimaryKey {
  const query = compileQuery(config.query);
  const { headers, consumer } = config;
  return (request) => {
    // HEAD is answered from what GET stored.
    let text =
      part(request.method === "HEAD" ? "GET" : request.method) +
      part(request.scheme) +
      part(request.host.toLowerCase()) +
      part(request.path) +
      part(query(request.query)) +
      part(normaliseAcceptEncoding(request.headers["accept-encoding"]));
    // The version picks the route and so the answer, wherever the request named it (a
    // header, Accept, a query argument `key.query` may leave out).
    text += part(request.apiVersion === undefined ? "" : `=${request.apiVersion}`);
    for (const name of headers) text += part(headerValue(request.headers, name));
    if (consumer) text += part(request.consumer === undefined ? "" : `=${request.consumer}`);
    return digest(text);
  };
}

/** The key of the variant of `primary` for the values the request has of `vary`. */
export function variantKey(
  primary: string,
  vary: readonly string[],
  headers: Readonly<IncomingHttpHeaders>,
): string {
  let text = part(primary);
  for (const name of vary) text += part(name) + part(headerValue(headers, name));
  return digest(text);
}

/**
 * Accept-Encoding as a sorted set of the codings the client takes (q=0 ones left out), so
 * `gzip, br` and `br,gzip;q=0.9` share entries while `identity` does not share gzip's.
 */
export function normaliseAcceptEncoding(value: string | string[] | undefined): string {
  if (value === undefined) return "";
  const text = Array.isArray(value) ? value.join(",") : value;
  const codings = new Set<string>();
  for (const item of text.split(",")) {
    const [name = "", ...params] = item.split(";");
    const coding = name.trim().toLowerCase();
    if (coding === "") continue;
    const q = params.find((param) => param.trim().toLowerCase().startsWith("q="));
    if (q !== undefined && Number(q.trim().slice(2)) === 0) continue;
    codings.add(coding);
  }
  return [...codings].sort().join(",");
}

/** A header's value as one string; a missing header differs from an empty one. */
function headerValue(headers: Readonly<IncomingHttpHeaders>, name: string): string {
  const value = headers[name];
  if (value === undefined) return "";
  return `=${Array.isArray(value) ? value.join(", ") : value}`;
}

/** A part with its length (in UTF-16 code units) before it. */
function part(text: string): string {
  return `${text.length}:${text}`;
}

/**
 * The SHA-256 of the parts' text, read as UTF-16 code units: unlike UTF-8, that encoding
 * maps every JavaScript string to its own bytes (a lone surrogate included).
 */
function digest(text: string): string {
  return createHash("sha256").update(text, "utf16le").digest("base64url");
}

function compileQuery(option: CacheKeyConfig["query"]): (query: string) => string {
  if (option === "none") return () => "";
  const only = option === "all" ? undefined : new Set(option);
  return (query) => {
    if (query === "") return "";
    const pairs: [string, string][] = [];
    for (const [name, value] of new URLSearchParams(query)) {
      if (only === undefined || only.has(name)) pairs.push([name, value]);
    }
    // Sorted by name then value, so argument order does not split entries.
    pairs.sort((a, b) =>
      a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0,
    );
    // Re-encoded by URLSearchParams: `&` and `=` inside names and values stay escaped.
    return new URLSearchParams(pairs).toString();
  };
}
