/**
 * @module plugins/cache/policy
 * RFC 9111 decisions over http-cache-semantics: the policy of a response (with the route's
 * `ttl` / `defaultTtl` applied), and what the library leaves to its caller: whether a
 * response may be reused for a request with Authorization (§3.5), `must-revalidate` on a
 * stale entry, the `stale-if-error` window, and a client's own conditional request.
 */
import type { IncomingHttpHeaders } from "node:http";
import CachePolicy from "http-cache-semantics";
import type { CachedResponse } from "./entry.ts";

/** The request the policies are made with and asked about; see policyRequest. */
export type PolicyRequest = CachePolicy.Request;

/**
 * The request as the policy sees it. The key already matched method, URL and host (as
 * the route's `key` option defines them), so those are fixed here and only the headers
 * (Vary, the request's own Cache-Control) are compared.
 */
export function policyRequest(headers: IncomingHttpHeaders): PolicyRequest {
  return { method: "GET", url: "/", headers: { ...headers, host: "" } };
}

/** TTL overrides, in seconds, as configured. */
export interface TtlOptions {
  ttl: number | undefined;
  defaultTtl: number | undefined;
}

const explicitFreshness = /(?:^|,)\s*(?:s-maxage|max-age)\s*=/i;

/** The response's policy, its freshness as the route's `ttl` and `defaultTtl` say. */
export function responsePolicy(
  request: PolicyRequest,
  status: number,
  headers: Record<string, string>,
  { ttl, defaultTtl }: TtlOptions,
): CachePolicy {
  let seen = headers;
  const cc = headers["cache-control"] ?? "";
  const override =
    ttl ?? (explicitFreshness.test(cc) || headers.expires !== undefined ? undefined : defaultTtl);
  if (override !== undefined) {
    // The last directive of a name wins in the library's parser; no-store, private and
    // no-cache still apply.
    seen = {
      ...headers,
      "cache-control": cc === "" ? `s-maxage=${override}` : `${cc}, s-maxage=${override}`,
    };
  }
  return new CachePolicy(request, { status, headers: seen }, { shared: true });
}

const authorizedReuse = /(?:^|,)\s*(?:public|s-maxage\s*=|must-revalidate)/i;

/**
 * RFC 9111 §3.5: a response is stored for, or reused by, a request with Authorization
 * only if it says so: public, s-maxage or must-revalidate (the upstream's own words, not
 * a `ttl` the route set).
 */
export function allowsAuthorized(headers: Readonly<Record<string, string>>): boolean {
  return authorizedReuse.test(headers["cache-control"] ?? "");
}

export function mustRevalidate(headers: Readonly<Record<string, string>>): boolean {
  return /(?:^|,)\s*(?:must-revalidate|proxy-revalidate)\s*(?:,|$)/i.test(
    headers["cache-control"] ?? "",
  );
}

/** Whether the stale entry is within its `stale-if-error` window. */
export function staleIfErrorUsable(entry: CachedResponse): boolean {
  const match = /(?:^|,)\s*stale-if-error\s*=\s*"?(\d+)/i.exec(
    entry.headers["cache-control"] ?? "",
  );
  if (!match || mustRevalidate(entry.headers)) return false;
  return entry.policy.maxAge() + Number(match[1]) > entry.policy.age();
}

export function hasValidators(headers: Readonly<Record<string, string>>): boolean {
  return headers.etag !== undefined || headers["last-modified"] !== undefined;
}

/**
 * Whether a client's If-None-Match (weak comparison, RFC 9110 §13.1.2) or, without it,
 * If-Modified-Since matches the entry: then the client gets 304.
 */
export function clientHasCurrent(
  request: IncomingHttpHeaders,
  entry: Readonly<Record<string, string>>,
): boolean {
  const ifNoneMatch = request["if-none-match"];
  if (ifNoneMatch !== undefined) {
    const etag = entry.etag;
    if (etag === undefined) return false;
    if (ifNoneMatch.trim() === "*") return true;
    const own = opaque(etag);
    return ifNoneMatch.split(",").some((tag) => opaque(tag) === own);
  }
  const since = request["if-modified-since"];
  if (since === undefined) return false;
  const modified = Date.parse(entry["last-modified"] ?? entry.date ?? "");
  const asked = Date.parse(since);
  return Number.isFinite(modified) && Number.isFinite(asked) && modified <= asked;
}

function opaque(tag: string): string {
  return tag.trim().replace(/^W\//, "");
}

/** The stored headers updated by a 304's (RFC 9111 §3.2), length and framing kept. */
export function refreshedHeaders(
  stored: Readonly<Record<string, string>>,
  update: Readonly<Record<string, string>>,
): Record<string, string> {
  const merged = { ...stored };
  for (const name in update) {
    if (name === "content-length" || name === "content-encoding" || name === "content-type")
      continue;
    merged[name] = update[name]!;
  }
  return merged;
}
