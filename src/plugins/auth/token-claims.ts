/**
 * @module plugins/auth/token-claims
 * Where an accepted token's claims are kept for later plugins, and how its scopes are
 * read: `jwt` keeps its payload under `jwtClaimsKey`, `oauth2-introspection` its answer
 * under `introspectionClaimsKey` (`ctx.get(key)`); `authorize` reads them back from there.
 */
import type { JWTPayload } from "jose";
import type { RequestContext } from "../../pipeline/context.ts";
import { createStateKey } from "../../pipeline/request-state.ts";

/** The claims of the token the jwt plugin verified (named "jwt" for `ctx.locals` readers). */
export const jwtClaimsKey = createStateKey<JWTPayload>("jwt");

/** The active token's introspection answer (named "oauth2" for `ctx.locals` readers). */
export const introspectionClaimsKey = createStateKey<Record<string, unknown>>("oauth2");

/** The accepted token's claims: a jwt's payload, else an introspection answer. */
export function tokenClaims(ctx: RequestContext): Record<string, unknown> | undefined {
  return ctx.get(jwtClaimsKey) ?? ctx.get(introspectionClaimsKey);
}

/** `scope` (space-separated, RFC 7662 / RFC 8693) or `scp` (a list, as some issuers write it). */
export function scopesOf(claims: Record<string, unknown> | undefined): Set<string> {
  const scope = claims?.scope ?? claims?.scp;
  if (Array.isArray(scope)) return new Set(scope.map(String));
  return new Set(typeof scope === "string" ? scope.split(" ").filter(Boolean) : []);
}

/**
 * A claim as an upstream header value (`claimsToHeaders`): strings, numbers and booleans
 * as they are, lists joined with spaces (as `scope` is), objects as JSON. Text a header
 * cannot carry (control characters, beyond Latin-1) is left out rather than mangled.
 */
export function claimHeaderValue(claim: unknown): string | undefined {
  if (claim === undefined || claim === null) return undefined;
  const text = Array.isArray(claim)
    ? claim.map((item) => (typeof item === "string" ? item : JSON.stringify(item))).join(" ")
    : typeof claim === "object"
      ? JSON.stringify(claim)
      : String(claim);
  return /^[\t\x20-\x7e\x80-\xff]*$/.test(text) ? text : undefined;
}
