/**
 * @module plugins/jwt/keys
 * Where the jwt plugin's verification keys come from. A key source answers "which key
 * verifies a token with this header", from the configured keys only: the header's `kid`
 * is a lookup key into that set and nothing else, and `jku`, `x5u`, `jwk` and `x5c` are
 * never read, so a token cannot name its own key.
 */
import type { webcrypto } from "node:crypto";
import type { JWTHeaderParameters } from "jose";
import { type JwsAlgorithm, verifyKeyFor } from "./algorithms.ts";
import { parsePublicKey, parseSecret } from "./schema.ts";

/** The keys that may verify a route's tokens. */
export interface KeySource {
  /**
   * The key for a token whose header is `header` (its `alg` already checked against
   * `algorithms`). A promise only when the key set has to be fetched first. Throws (or
   * rejects with) UnknownKeyError or KeySetUnavailableError.
   */
  keyFor(header: JWTHeaderParameters): webcrypto.CryptoKey | Promise<webcrypto.CryptoKey>;
  /** Changes whenever the set of keys changes, so what was verified with old keys is forgotten. */
  readonly generation: number;
  /**
   * Called when a remembered token is used without asking for its key: a source that
   * refreshes its keys now and then gets the chance to (so a key withdrawn by the issuer
   * stops working for remembered tokens too).
   */
  refreshIfStale?(): void;
}

/** No configured key fits the token (an unknown `kid`, or a key of another type). */
export class UnknownKeyError extends Error {
  override name = "UnknownKeyError";
}

/** The key set could not be fetched and none is cached: the token can be neither accepted nor refused. */
export class KeySetUnavailableError extends Error {
  override name = "KeySetUnavailableError";
}

/** A wall clock, in milliseconds since the epoch (Date.now(), or a test's hand-moved clock). */
export interface WallClock {
  now(): number;
}

export const systemWallClock: WallClock = { now: () => Date.now() };

/**
 * One key from the config (`secret` or `publicKey`), imported once per algorithm. The
 * schema has already checked that it fits every algorithm, so none is missing here.
 */
export function staticKeySource(
  material: { secret?: string | undefined; publicKey?: string | undefined },
  algorithms: readonly JwsAlgorithm[],
): KeySource {
  const key =
    material.secret !== undefined
      ? parseSecret(material.secret)
      : parsePublicKey(material.publicKey!);
  const byAlgorithm = new Map<string, webcrypto.CryptoKey>();
  for (const alg of algorithms) {
    const cryptoKey = verifyKeyFor(key, alg);
    if (typeof cryptoKey === "string") throw new Error(`jwt: ${cryptoKey}`);
    byAlgorithm.set(alg, cryptoKey);
  }
  return {
    generation: 0,
    keyFor(header) {
      const found = byAlgorithm.get(header.alg);
      if (found === undefined) throw new UnknownKeyError(`no key for ${header.alg}`);
      return found;
    },
  };
}
