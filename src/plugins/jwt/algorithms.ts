/**
 * @module plugins/jwt/algorithms
 * The JWS algorithms the jwt plugin accepts, and how a Node KeyObject becomes the WebCrypto
 * key jose verifies with. Keys are turned into CryptoKeys once (one per algorithm, since a
 * CryptoKey is bound to its hash), synchronously, so `create()` can do it up front.
 */
import type { KeyObject, webcrypto } from "node:crypto";

/** Every algorithm `algorithms` may list. `none` is not one: an unsigned token proves nothing. */
export const jwsAlgorithms = [
  "HS256",
  "HS384",
  "HS512",
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
] as const;

export type JwsAlgorithm = (typeof jwsAlgorithms)[number];

type ImportParams =
  | webcrypto.RsaHashedImportParams
  | webcrypto.EcKeyImportParams
  | webcrypto.HmacImportParams
  | webcrypto.Algorithm;

/** The key a JWK must be (`kty`, and `crv` for curves) and how WebCrypto imports it. */
interface AlgorithmSpec {
  kty: "oct" | "RSA" | "EC" | "OKP";
  crv?: string;
  params: ImportParams;
  /** The shortest key allowed: RFC 7518 asks HMAC keys as long as the hash, RSA 2048 bits. */
  minBits: number;
}

const hmac = (bits: number): AlgorithmSpec => ({
  kty: "oct",
  params: { name: "HMAC", hash: `SHA-${bits}` },
  minBits: bits,
});
const rsa = (name: string, bits: number): AlgorithmSpec => ({
  kty: "RSA",
  params: { name, hash: `SHA-${bits}` },
  minBits: 2048,
});
const ec = (crv: string): AlgorithmSpec => ({
  kty: "EC",
  crv,
  params: { name: "ECDSA", namedCurve: crv },
  minBits: 0,
});
const ed25519: AlgorithmSpec = {
  kty: "OKP",
  crv: "Ed25519",
  params: { name: "Ed25519" },
  minBits: 0,
};

const specs: Record<JwsAlgorithm, AlgorithmSpec> = {
  HS256: hmac(256),
  HS384: hmac(384),
  HS512: hmac(512),
  RS256: rsa("RSASSA-PKCS1-v1_5", 256),
  RS384: rsa("RSASSA-PKCS1-v1_5", 384),
  RS512: rsa("RSASSA-PKCS1-v1_5", 512),
  PS256: rsa("RSA-PSS", 256),
  PS384: rsa("RSA-PSS", 384),
  PS512: rsa("RSA-PSS", 512),
  ES256: ec("P-256"),
  ES384: ec("P-384"),
  ES512: ec("P-521"),
  EdDSA: ed25519,
  Ed25519: ed25519,
};

/** True for the algorithms verified with a shared secret (HS*), false for public keys. */
export function isHmac(algorithm: JwsAlgorithm): boolean {
  return specs[algorithm].kty === "oct";
}

/** The shortest HMAC secret, in bytes, that every listed HS* algorithm accepts. */
export function minimumSecretBytes(algorithms: readonly JwsAlgorithm[]): number {
  return Math.max(0, ...algorithms.map((alg) => (isHmac(alg) ? specs[alg].minBits / 8 : 0)));
}

/** True when a JWK's `kty`/`crv` (and `alg`, if it names one) can verify `algorithm`. */
export function jwkFits(
  jwk: { kty?: unknown; crv?: unknown; alg?: unknown },
  algorithm: JwsAlgorithm,
): boolean {
  const spec = specs[algorithm];
  if (jwk.alg !== undefined && jwk.alg !== algorithm) return false;
  return jwk.kty === spec.kty && (spec.crv === undefined || jwk.crv === spec.crv);
}

/**
 * The CryptoKey that verifies `algorithm` with `key`, or a sentence saying why this key
 * cannot (wrong type, wrong curve, RSA shorter than 2048 bits).
 */
export function verifyKeyFor(
  key: KeyObject,
  algorithm: JwsAlgorithm,
): webcrypto.CryptoKey | string {
  const spec = specs[algorithm];
  if (spec.kty === "oct") {
    if (key.type !== "secret") return `${algorithm} needs a secret, not a public key`;
  } else if (key.type !== "public") {
    return `${algorithm} needs a public key`;
  } else if (spec.kty === "RSA") {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (key.asymmetricKeyType !== "rsa" && key.asymmetricKeyType !== "rsa-pss")
      return `${algorithm} needs an RSA key, not ${key.asymmetricKeyType}`;
    if (bits < spec.minBits)
      return `${algorithm} needs an RSA key of 2048 bits or more, not ${bits}`;
  }
  try {
    return key.toCryptoKey(spec.params, false, ["verify"]);
  } catch {
    const kind = spec.crv ? `an ${spec.kty} ${spec.crv} key` : `an ${spec.kty} key`;
    return `${algorithm} needs ${kind}, not ${describeKey(key)}`;
  }
}

function describeKey(key: KeyObject): string {
  if (key.type === "secret") return "a secret";
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve ? `${key.asymmetricKeyType} ${curve}` : String(key.asymmetricKeyType);
}
