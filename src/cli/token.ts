/**
 * @module cli/token
 * Signs a JWT for trying the jwt plugin (`gatehouse token`): with an HMAC secret, or a
 * private key (PEM, or a JWK) whose type picks the algorithm when none is given. The key
 * is held to the plugin's own rules (secret length, RSA size, the curve an algorithm
 * needs), so a token made here is one the plugin would verify with the matching key.
 */
import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from "node:crypto";
import { type JWTPayload, SignJWT } from "jose";
import { parseDuration } from "../config/units.ts";
import {
  isHmac,
  type JwsAlgorithm,
  jwsAlgorithms,
  minimumSecretBytes,
  verifyKeyFor,
} from "../plugins/jwt/algorithms.ts";

/** A mistake in what was asked for, said in one sentence for the person who asked. */
export class TokenError extends Error {
  override name = "TokenError";
}

/** What to sign with: exactly one of a secret and a private key file's text. */
export type SigningMaterial = { secret: string } | { keyText: string; keyFile: string };

export interface TokenRequest {
  material: SigningMaterial;
  /** The JWS algorithm; default HS256 with a secret, else the key's own. */
  alg?: string;
  /** `name=value` pairs; a value that is JSON (number, boolean, list, object) is taken as such. */
  claims?: string[];
  sub?: string;
  iss?: string;
  /** One audience becomes a string `aud`, several a list. */
  aud?: string[];
  /** A duration (`1h`, `30m`) until `exp`; false for a token that never expires. */
  expires?: string | false;
  /** The `kid` header; default the JWK's own `kid`, if the key is a JWK that has one. */
  kid?: string;
}

interface SigningKey {
  key: KeyObject;
  /** The algorithm this key implies when none is asked for. */
  alg: JwsAlgorithm;
  kid?: string;
}

/** The signed token (compact JWS). `nowMs` is the clock `iat` and `exp` are counted from. */
export async function signToken(request: TokenRequest, nowMs = Date.now()): Promise<string> {
  const signing =
    "secret" in request.material
      ? {
          key: createSecretKey(Buffer.from(request.material.secret, "utf8")),
          alg: "HS256" as const,
        }
      : privateKey(request.material.keyText, request.material.keyFile);
  const alg = algorithm(request.alg ?? signing.alg);
  checkKeyFits(signing.key, alg);

  const iat = Math.floor(nowMs / 1000);
  const payload: JWTPayload = { iat };
  const expires = request.expires ?? "1h";
  if (expires !== false) {
    const ms = parseDuration(expires);
    if (ms === undefined || ms <= 0)
      throw new TokenError(`--expires must be a duration like 30m, 1h or 7d, not "${expires}"`);
    payload.exp = iat + Math.ceil(ms / 1000);
  }
  if (request.iss !== undefined) payload.iss = request.iss;
  if (request.sub !== undefined) payload.sub = request.sub;
  const aud = request.aud ?? [];
  if (aud.length > 0) payload.aud = aud.length === 1 ? aud[0] : aud;
  Object.assign(payload, parseClaims(request.claims ?? []));

  const kid = request.kid ?? signing.kid;
  return new SignJWT(payload)
    .setProtectedHeader({ alg, typ: "JWT", ...(kid !== undefined && { kid }) })
    .sign(signing.key);
}

/** `name=value` pairs as claims: JSON values as JSON, anything else as the string written. */
export function parseClaims(pairs: string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at < 1) throw new TokenError(`--claim must be name=value, not "${pair}"`);
    const text = pair.slice(at + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // Not JSON: the text itself (`--claim scope=orders:read`).
    }
    claims[pair.slice(0, at)] = value;
  }
  return claims;
}

function algorithm(name: string): JwsAlgorithm {
  if ((jwsAlgorithms as readonly string[]).includes(name)) return name as JwsAlgorithm;
  throw new TokenError(`--alg must be one of ${jwsAlgorithms.join(", ")}, not "${name}"`);
}

/** Refuses a key the jwt plugin would refuse for `alg`, with the plugin's own reason. */
function checkKeyFits(key: KeyObject, alg: JwsAlgorithm): void {
  if (key.type === "secret") {
    if (!isHmac(alg)) throw new TokenError(`${alg} signs with a private key, not a secret`);
    const needed = minimumSecretBytes([alg]);
    const bytes = key.symmetricKeySize ?? 0;
    if (bytes < needed)
      throw new TokenError(
        `the secret is ${bytes} bytes; ${alg} needs at least ${needed} (RFC 7518 §3.2)`,
      );
    return;
  }
  if (isHmac(alg)) throw new TokenError(`${alg} signs with a secret (--secret), not a private key`);
  const problem = verifyKeyFor(createPublicKey(key), alg);
  if (typeof problem === "string") throw new TokenError(problem);
}

/** A private key from a PEM file or a JWK (JSON), with the algorithm its type implies. */
function privateKey(text: string, file: string): SigningKey {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) return jwkKey(trimmed, file);
  if (/-----BEGIN [A-Z ]*PUBLIC KEY-----/.test(trimmed))
    throw new TokenError(`${file} is a public key; tokens are signed with the private key`);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: trimmed, format: "pem" });
  } catch (error) {
    throw new TokenError(
      `${file} is not a PEM private key or a JWK (${(error as Error).message}); expected -----BEGIN PRIVATE KEY-----`,
    );
  }
  return { key, alg: impliedAlgorithm(key, file) };
}

function jwkKey(text: string, file: string): SigningKey {
  let jwk: { kty?: string; d?: string; k?: string; alg?: string; kid?: string; keys?: unknown };
  try {
    jwk = JSON.parse(text);
  } catch (error) {
    throw new TokenError(`${file} is not valid JSON (${(error as Error).message})`);
  }
  if (jwk.keys !== undefined) throw new TokenError(`${file} is a key set; give one key (a JWK)`);
  let key: KeyObject;
  try {
    if (jwk.kty === "oct") key = createSecretKey(Buffer.from(jwk.k ?? "", "base64url"));
    else if (jwk.d === undefined)
      throw new TokenError(
        `${file} is a public JWK (no "d"); tokens are signed with the private key`,
      );
    // biome-ignore lint/suspicious/noExplicitAny: node:crypto's JsonWebKey type is narrower than a JWK
    else key = createPrivateKey({ key: jwk as any, format: "jwk" });
  } catch (error) {
    if (error instanceof TokenError) throw error;
    throw new TokenError(`${file} is not a usable JWK (${(error as Error).message})`);
  }
  const implied = key.type === "secret" ? "HS256" : impliedAlgorithm(key, file);
  return {
    key,
    alg: jwk.alg !== undefined ? algorithm(jwk.alg) : implied,
    ...(jwk.kid !== undefined && { kid: jwk.kid }),
  };
}

const curveAlgorithms: Record<string, JwsAlgorithm> = {
  prime256v1: "ES256",
  "P-256": "ES256",
  secp384r1: "ES384",
  "P-384": "ES384",
  secp521r1: "ES512",
  "P-521": "ES512",
};

function impliedAlgorithm(key: KeyObject, file: string): JwsAlgorithm {
  const type = key.asymmetricKeyType;
  if (type === "rsa") return "RS256";
  if (type === "rsa-pss") return "PS256";
  if (type === "ed25519") return "EdDSA";
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (type === "ec" && curve && curveAlgorithms[curve]) return curveAlgorithms[curve];
  throw new TokenError(
    `${file}: no JWS algorithm signs with a ${type}${curve ? ` ${curve}` : ""} key`,
  );
}
