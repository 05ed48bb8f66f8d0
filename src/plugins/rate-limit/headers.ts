/**
 * @module plugins/rate-limit/headers
 * The RateLimit-* response headers of the IETF draft (draft-ietf-httpapi-ratelimit-headers,
 * as Kong and Traefik send them), reporting the most restrictive limit, and Retry-After.
 */
import type { ResponseView } from "../../pipeline/plugin.ts";
import { setHeader } from "../../proxy/headers.ts";
import type { Decision, LimitRule } from "./decision.ts";

/** Whole seconds, rounded up and at least 1: a client that waits that long is not early. */
export function wholeSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

/** `RateLimit-Policy`: every limit, e.g. `10;w=1, 1000;w=3600`. Computed once per plugin. */
export function policyHeader(rules: readonly LimitRule[]): string {
  return rules.map((rule) => `${rule.limit};w=${rule.windowMs / 1000}`).join(", ");
}

/** Sets the headers for `decision`, replacing any the upstream sent. */
export function setRateLimitHeaders(
  response: ResponseView,
  decision: Decision,
  policy: string,
): void {
  const headers = response.headers;
  setHeader(headers, "ratelimit-limit", String(decision.rule.limit));
  setHeader(headers, "ratelimit-remaining", String(decision.remaining));
  setHeader(headers, "ratelimit-reset", wholeSeconds(decision.resetMs));
  setHeader(headers, "ratelimit-policy", policy);
}
