/**
 * @module upstream/selectors/hash-key
 * What consistent hashing hashes, compiled once from `loadBalancer.hashOn`: the client IP,
 * a header, a cookie, a query argument, the path or the consumer. A request without the
 * key falls back to its client IP, so it still sticks somewhere.
 */
import type { z } from "zod";
import type { loadBalancerSchema } from "../../config/schema/upstream.ts";
import { combinedHeaderValue } from "../../proxy/headers.ts";
import type { SelectionRequest } from "./selector.ts";

/** The `hashOn` forms the schema accepts. */
export type HashOn = NonNullable<z.output<typeof loadBalancerSchema>["hashOn"]>;

/** A request's hash key; never empty unless the client address is. */
export type HashKey = (request: SelectionRequest) => string;

/** The key function for a `hashOn` setting. */
export function compileHashKey(hashOn: HashOn): HashKey {
  if ("header" in hashOn) {
    const name = hashOn.header.toLowerCase();
    return (request) => combinedHeaderValue(request.headers[name]) || request.clientAddress;
  }
  if ("cookie" in hashOn) {
    const name = hashOn.cookie;
    return (request) => cookieValue(request.headers.cookie, name) || request.clientAddress;
  }
  if ("query" in hashOn) {
    const name = hashOn.query;
    return (request) => queryValue(request.query, name) || request.clientAddress;
  }
  if ("path" in hashOn) return (request) => request.path || request.clientAddress;
  if ("consumer" in hashOn) return (request) => request.consumer || request.clientAddress;
  return (request) => request.clientAddress;
}

/** The value of cookie `name` in a Cookie header (or HTTP/2's several), unquoted. */
export function cookieValue(header: string | string[] | undefined, name: string): string {
  if (header === undefined) return "";
  const text = Array.isArray(header) ? header.join("; ") : header;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(";", start);
    if (end === -1) end = text.length;
    const equals = text.indexOf("=", start);
    if (equals !== -1 && equals < end && text.slice(start, equals).trim() === name) {
      const value = text.slice(equals + 1, end).trim();
      return value.length >= 2 && value.startsWith('"') && value.endsWith('"')
        ? value.slice(1, -1)
        : value;
    }
    start = end + 1;
  }
  return "";
}

/** The first value of argument `name` in a raw query string, percent-decoded. */
export function queryValue(query: string, name: string): string {
  let start = 0;
  while (start < query.length) {
    let end = query.indexOf("&", start);
    if (end === -1) end = query.length;
    let equals = query.indexOf("=", start);
    if (equals === -1 || equals > end) equals = end;
    if (decode(query.slice(start, equals)) === name) return decode(query.slice(equals + 1, end));
    start = end + 1;
  }
  return "";
}

/** Form decoding (`+` is a space); a malformed escape is kept as written. */
function decode(text: string): string {
  if (!text.includes("%") && !text.includes("+")) return text;
  const spaced = text.replaceAll("+", " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}
