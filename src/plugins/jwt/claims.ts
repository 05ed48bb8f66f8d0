/**
 * @module plugins/jwt/claims
 * What a refused token is told, and the time checks a remembered token is put through
 * again on every use. Messages name the check that failed, never the token or what the
 * client put in it.
 */
import { errors, type JWTPayload } from "jose";
import type { ErrorCode } from "../../errors.ts";
import { KeySetUnavailableError, UnknownKeyError } from "./keys.ts";

/** Why a token was not accepted, as the client is told. */
export interface Refusal {
  code: ErrorCode;
  message: string;
}

const invalid = (message: string): Refusal => ({ code: "GATEHOUSE_INVALID_TOKEN", message });
const expired = (message: string): Refusal => ({ code: "GATEHOUSE_TOKEN_EXPIRED", message });
const rejected = (message: string): Refusal => ({
  code: "GATEHOUSE_TOKEN_CLAIMS_REJECTED",
  message,
});

export const tooLarge = invalid("The token is larger than this route accepts");
export const unknownConsumer = rejected("The token names no known consumer");
export const notExpired = expired("The token has expired");
export const notYetValid = expired("The token is not valid yet");
export const tooOld = expired("The token is older than this route accepts");

/** The refusal for an error from verifying a token (jose's, or a key source's). */
export function refusalFor(error: unknown): Refusal {
  if (error instanceof KeySetUnavailableError) {
    return {
      code: "GATEHOUSE_AUTH_UNAVAILABLE",
      message: "The issuer's key set could not be fetched",
    };
  }
  if (error instanceof UnknownKeyError)
    return invalid(`No configured key verifies the token: ${error.message}`);
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return invalid("The token's signing algorithm is not accepted on this route");
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return invalid("The token's signature does not verify");
  }
  if (error instanceof errors.JWTExpired) return error.claim === "iat" ? tooOld : notExpired;
  if (error instanceof errors.JWTClaimValidationFailed) {
    const { claim, reason } = error;
    if (reason === "missing") return rejected(`The token has no "${claim}" claim`);
    if (reason === "invalid") return invalid(`The token's "${claim}" claim is malformed`);
    if (claim === "nbf" || claim === "iat") return notYetValid;
    return rejected(`The token's "${claim}" claim is not accepted on this route`);
  }
  if (error instanceof errors.JOSEError) return invalid("The token is malformed");
  // A key that cannot verify (jose's TypeErrors) is still the token's problem, never a pass.
  return invalid("The token cannot be verified");
}

/**
 * The time checks jose's jwtVerify makes, for a token verified earlier and remembered:
 * `exp`, `nbf` and, with `maxAge`, `iat`, against `nowMs`, in whole seconds as jose counts.
 */
export function timeRefusal(
  payload: JWTPayload,
  nowMs: number,
  leewaySeconds: number,
  maxAgeSeconds: number | undefined,
): Refusal | undefined {
  const now = Math.floor(nowMs / 1000);
  if (payload.nbf !== undefined && payload.nbf > now + leewaySeconds) return notYetValid;
  if (payload.exp !== undefined && payload.exp <= now - leewaySeconds) return notExpired;
  if (maxAgeSeconds !== undefined) {
    const age = now - payload.iat!;
    if (age - leewaySeconds > maxAgeSeconds) return tooOld;
    if (age < -leewaySeconds) return notYetValid;
  }
  return undefined;
}
