/**
 * @module plugins/jwt/jwks
 * A JSON Web Key Set fetched from the issuer's `jwksUri` and kept in memory. The rules,
 * all about protecting the issuer from us and us from tokens:
 *
 * - at most one fetch in flight (single flight) and at most one started per `cooldown`,
 *   whatever asks for it, so a flood of tokens with random `kid`s costs one fetch;
 * - a `kid` the set does not hold asks for a fetch (that is how a rotated-in key is
 *   found); inside the cooldown it is refused at once;
 * - after `cacheTtl` the set is fetched again in the background while the old one keeps
 *   serving, and keeps serving if that fetch fails (stale while revalidate);
 * - with nothing cached and the issuer unreachable, tokens get KeySetUnavailableError.
 *
 * jose's createRemoteJWKSet is close but not this: it awaits the refresh of a stale set
 * and fails when that fetch fails, and a failed fetch starts no cooldown.
 */
import { createPublicKey, type JsonWebKey, type KeyObject, type webcrypto } from "node:crypto";
import type { JWTHeaderParameters } from "jose";
import { request } from "undici";
import { fallbackLogger, type Logger } from "../../observability/logger.ts";
import { type JwsAlgorithm, jwkFits, verifyKeyFor } from "./algorithms.ts";
import { KeySetUnavailableError, type KeySource, UnknownKeyError, type WallClock } from "./keys.ts";

export interface JwksOptions {
  url: string;
  algorithms: readonly JwsAlgorithm[];
  cacheTtl: number;
  cooldown: number;
  timeout: number;
  clock: WallClock;
  /** Where failed fetches are reported. */
  log?: Logger;
}

/** One usable key of the set, imported once for each configured algorithm it fits. */
interface JwksEntry {
  kid: string | undefined;
  byAlgorithm: Map<string, webcrypto.CryptoKey>;
}

/** A key set larger than this is refused rather than read into memory. */
const maxKeySetBytes = 1024 * 1024;

export class JwksKeySource implements KeySource {
  readonly #options: JwksOptions;
  #entries: JwksEntry[] | undefined;
  #body = "";
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #inFlight: Promise<void> | undefined;
  generation = 0;

  constructor(options: JwksOptions) {
    this.#options = options;
  }

  /** Fetches the set now, so the first request does not wait for it. */
  start(): void {
    void this.#fetch();
  }

  keyFor(header: JWTHeaderParameters): webcrypto.CryptoKey | Promise<webcrypto.CryptoKey> {
    const now = this.#options.clock.now();
    if (this.#entries === undefined) {
      if (this.#inFlight) return this.#inFlight.then(() => this.#afterFetch(header));
      if (this.#coolingDown(now)) return Promise.reject(this.#unavailable());
      return this.#fetch().then(() => this.#afterFetch(header));
    }
    this.#refreshIfStale(now);
    const key = this.#pick(header);
    if (key !== undefined) return key;
    // An unknown kid may be a key the issuer rotated in since the last fetch.
    if (this.#inFlight) return this.#inFlight.then(() => this.#afterFetch(header));
    if (this.#coolingDown(now)) throw unknownKey(header);
    return this.#fetch().then(() => this.#afterFetch(header));
  }

  refreshIfStale(): void {
    if (this.#entries !== undefined) this.#refreshIfStale(this.#options.clock.now());
  }

  /** After cacheTtl, fetches again in the background; the current set keeps serving meanwhile. */
  #refreshIfStale(now: number): void {
    if (now - this.#fetchedAt >= this.#options.cacheTtl && !this.#coolingDown(now)) {
      void this.#fetch();
    }
  }

  #coolingDown(now: number): boolean {
    return now - this.#attemptedAt < this.#options.cooldown;
  }

  #afterFetch(header: JWTHeaderParameters): webcrypto.CryptoKey {
    if (this.#entries === undefined) throw this.#unavailable();
    const key = this.#pick(header);
    if (key === undefined) throw unknownKey(header);
    return key;
  }

  #unavailable(): KeySetUnavailableError {
    return new KeySetUnavailableError(`the key set at ${this.#options.url} could not be fetched`);
  }

  /**
   * The key for the header's kid and alg; undefined when the set has none. A token
   * without a kid is verified only when one key of the set fits its alg: trying several
   * would let one token cost many verifications.
   */
  #pick(header: JWTHeaderParameters): webcrypto.CryptoKey | undefined {
    const { kid, alg } = header;
    if (kid !== undefined && typeof kid !== "string")
      throw new UnknownKeyError("kid is not a string");
    let found: webcrypto.CryptoKey | undefined;
    for (const entry of this.#entries!) {
      if (kid !== undefined && entry.kid !== kid) continue;
      const key = entry.byAlgorithm.get(alg);
      if (key === undefined) continue;
      if (found !== undefined) {
        throw new UnknownKeyError(
          kid === undefined
            ? `the token has no kid and the key set holds several ${alg} keys`
            : `the key set holds several ${alg} keys with this kid`,
        );
      }
      found = key;
    }
    return found;
  }

  /** One fetch, shared by everyone who asks while it runs; never rejects. */
  #fetch(): Promise<void> {
    if (this.#inFlight) return this.#inFlight;
    this.#attemptedAt = this.#options.clock.now();
    this.#inFlight = this.#download()
      .then((body) => this.#install(body))
      .catch((error: unknown) => {
        (this.#options.log ?? fallbackLogger).warn(
          {
            url: this.#options.url,
            error: (error as Error).message,
            cachedKeySetKept: this.#entries !== undefined,
          },
          "jwt: could not fetch the key set",
        );
      })
      .finally(() => {
        this.#inFlight = undefined;
      });
    return this.#inFlight;
  }

  async #download(): Promise<string> {
    const { url, timeout } = this.#options;
    const response = await request(url, {
      signal: AbortSignal.timeout(timeout),
      headers: { accept: "application/jwk-set+json, application/json" },
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`answered ${response.statusCode}, not 200`);
    }
    const declared = Number(response.headers["content-length"] ?? 0);
    if (declared > maxKeySetBytes) {
      response.body.destroy();
      throw new Error(`the key set is larger than ${maxKeySetBytes} bytes`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > maxKeySetBytes) {
        response.body.destroy();
        throw new Error(`the key set is larger than ${maxKeySetBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  #install(body: string): void {
    const entries = parseKeySet(body, this.#options.algorithms);
    this.#fetchedAt = this.#options.clock.now();
    if (body === this.#body) return;
    this.#body = body;
    this.#entries = entries;
    this.generation++;
  }
}

/**
 * The usable keys of a JWKS document: signing keys (no `use`, or `use: sig`) of a type
 * some configured algorithm verifies. Others are skipped, not fatal: an issuer may
 * publish encryption keys, or keys for algorithms this route does not accept.
 */
export function parseKeySet(body: string, algorithms: readonly JwsAlgorithm[]): JwksEntry[] {
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    throw new Error("the key set is not JSON");
  }
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('the key set has no "keys" list');
  const entries: JwksEntry[] = [];
  for (const jwk of keys as Record<string, unknown>[]) {
    if (jwk === null || typeof jwk !== "object") continue;
    if (jwk.use !== undefined && jwk.use !== "sig") continue;
    if (jwk.kty === "oct" || (jwk.kid !== undefined && typeof jwk.kid !== "string")) continue;
    const fitting = algorithms.filter((alg) => jwkFits(jwk, alg));
    if (fitting.length === 0) continue;
    let keyObject: KeyObject;
    try {
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicPart } = jwk;
      keyObject = createPublicKey({ key: publicPart as JsonWebKey, format: "jwk" });
    } catch {
      continue;
    }
    const byAlgorithm = new Map<string, webcrypto.CryptoKey>();
    for (const alg of fitting) {
      const key = verifyKeyFor(keyObject, alg);
      if (typeof key !== "string") byAlgorithm.set(alg, key);
    }
    if (byAlgorithm.size > 0) entries.push({ kid: jwk.kid as string | undefined, byAlgorithm });
  }
  return entries;
}

function unknownKey(header: JWTHeaderParameters): UnknownKeyError {
  return new UnknownKeyError(
    header.kid === undefined
      ? `no key of the key set fits ${header.alg}`
      : `the key set holds no ${header.alg} key with this kid`,
  );
}
