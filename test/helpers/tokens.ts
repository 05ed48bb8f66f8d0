/**
 * @module test/helpers/tokens
 * JWTs for tests: properly signed ones (jose), and hand-made ones no library would sign
 * (`alg: none`, a payload swapped under an old signature).
 */
import type { KeyObject } from "node:crypto";
import { type JWTHeaderParameters, type JWTPayload, SignJWT } from "jose";

/** Signs `claims` with `key`; `header` adds to (or overrides) `{ alg }`. */
export function signToken(
  key: KeyObject | Uint8Array,
  alg: string,
  claims: JWTPayload,
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, ...header }).sign(key);
}

const base64url = (value: unknown): string =>
  Buffer.from(JSON.stringify(value)).toString("base64url");

/** An unsigned token (`alg` as given, e.g. "none" in any casing) with an empty signature. */
export function unsignedToken(alg: string, claims: JWTPayload): string {
  return `${base64url({ alg, typ: "JWT" })}.${base64url(claims)}.`;
}

/** The token with its payload replaced by `claims`, header and signature kept. */
export function withPayload(token: string, claims: JWTPayload): string {
  const [header, , signature] = token.split(".");
  return `${header}.${base64url(claims)}.${signature}`;
}

/** Seconds since the epoch, as JWT time claims count, `offset` seconds from `ms`. */
export const epochSeconds = (ms: number, offset = 0): number => Math.floor(ms / 1000) + offset;
