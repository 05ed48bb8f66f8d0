/**
 * @module plugins/jwt/schema
 * The jwt plugin's config. Everything that can be judged without a request is judged here,
 * so a mistake is a located FILE:LINE:COL error at load: exactly one key source, a PEM that
 * parses, a key (or secret) that fits every listed algorithm, a secret long enough.
 */
import { createPublicKey, createSecretKey, type KeyObject } from "node:crypto";
import { z } from "zod";
import { duration, exactlyOneOf, optionalDuration, size } from "../../config/schema/fields.ts";
import { anonymousOption, hideCredentialsOption } from "../auth/authentication.ts";
import {
  isHmac,
  type JwsAlgorithm,
  jwsAlgorithms,
  minimumSecretBytes,
  verifyKeyFor,
} from "./algorithms.ts";

const algorithm = z.enum(jwsAlgorithms, {
  error: (issue) =>
    String(issue.input).toLowerCase() === "none"
      ? '"none" is never accepted: an unsigned token proves nothing'
      : undefined,
});

const oneOrMore = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

const httpToken = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const headerName = z.string().regex(httpToken, "expected an HTTP header name");

const jwksUri = z
  .string()
  .refine(
    (text) => {
      if (!URL.canParse(text)) return false;
      const url = new URL(text);
      return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
    },
    { message: "expected an http(s) URL, e.g. https://issuer.example.com/.well-known/jwks.json" },
  )
  .describe("Where the issuer publishes its JSON Web Key Set.");

const jwksOptions = z
  .strictObject({
    cacheTtl: duration("10m").describe(
      "How long a fetched key set is used before it is fetched again (in the background).",
    ),
    cooldown: duration("30s").describe(
      "The shortest time between two fetches, whatever asks for them (an unknown kid, a refresh, a failure).",
    ),
    timeout: duration("2s").describe("How long one fetch of the key set may take."),
  })
  .prefault({})
  .describe("How the key set at `jwksUri` is fetched and cached.");

export const jwtSchema = z
  .strictObject({
    secret: z
      .string()
      .min(1)
      .optional()
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own reference syntax
      .describe("The shared secret for HS256/384/512 (write it as ${env:NAME}, not in the file)."),
    publicKey: z
      .string()
      .optional()
      .describe("A PEM public key (SPKI `BEGIN PUBLIC KEY`, or `BEGIN RSA PUBLIC KEY`)."),
    jwksUri: jwksUri.optional(),
    algorithms: z
      .array(algorithm)
      .min(1)
      .describe(
        "The algorithms a token may be signed with; the token's own `alg` only picks among them.",
      ),
    issuer: oneOrMore.optional().describe("The accepted `iss` value(s)."),
    audience: oneOrMore
      .optional()
      .describe("The accepted `aud` value(s); a token's `aud` must include one."),
    leeway: duration("30s").describe("Clock skew allowed on `exp`, `nbf` and `maxAge`."),
    maxAge: optionalDuration.describe("Refuse tokens whose `iat` is older than this."),
    requiredClaims: z.array(z.string().min(1)).default([]).describe("Claims a token must carry."),
    consumerClaim: z
      .string()
      .min(1)
      .optional()
      .describe("The claim whose value is the name of a consumer (e.g. `sub`)."),
    header: headerName
      .default("authorization")
      .describe("Header that carries the token (`Bearer <token>`)."),
    query: z.string().min(1).optional().describe("Query argument that may carry the token."),
    cookie: z.string().min(1).optional().describe("Cookie that may carry the token."),
    claimsToHeaders: z
      .record(z.string().min(1), headerName)
      .default({})
      .describe(
        "Claims copied to upstream request headers: claim name → header name. A client's own headers of these names are dropped on every route.",
      ),
    hideCredentials: hideCredentialsOption("the token"),
    anonymous: anonymousOption,
    maxTokenSize: size("8kb").describe("Larger tokens are refused without being parsed."),
    tokenCache: z
      .number()
      .int()
      .min(0)
      .default(1000)
      .describe(
        "How many verified tokens are remembered (until they expire); 0 verifies every request.",
      ),
    jwks: jwksOptions,
  })
  .superRefine((config, ctx) => {
    const source = exactlyOneOf(config, ["secret", "publicKey", "jwksUri"], ctx, { verb: "set" });
    if (!source) return;
    config.algorithms.forEach((alg, index) => {
      if (isHmac(alg) !== (source === "secret")) {
        ctx.addIssue({
          code: "custom",
          path: ["algorithms", index],
          message: isHmac(alg)
            ? `${alg} verifies with a secret, and this plugin has a ${source}`
            : `${alg} verifies with a publicKey or jwksUri, and this plugin has a secret`,
        });
      }
    });
    if (config.algorithms.some((alg) => isHmac(alg) !== (source === "secret"))) return;
    const problem =
      source === "publicKey"
        ? publicKeyProblem(config.publicKey!, config.algorithms)
        : source === "secret"
          ? secretProblem(config.secret!, config.algorithms)
          : undefined;
    if (problem) ctx.addIssue({ code: "custom", path: [source], message: problem });
  });

export type JwtConfig = z.output<typeof jwtSchema>;

/** The KeyObject of a PEM public key; throws when the PEM cannot be read. */
export function parsePublicKey(pem: string): KeyObject {
  return createPublicKey({ key: pem, format: "pem" });
}

/** The KeyObject of an HMAC secret, its UTF-8 bytes. */
export function parseSecret(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, "utf8"));
}

function publicKeyProblem(pem: string, algorithms: readonly JwsAlgorithm[]): string | undefined {
  // createPublicKey would derive the public half of a private key: refuse it instead, so
  // a private key pasted by mistake does not stay in the config.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    return "this is a private key; give the issuer's public key (-----BEGIN PUBLIC KEY-----)";
  }
  let key: KeyObject;
  try {
    key = parsePublicKey(pem);
  } catch (error) {
    const reason = (error as Error).message;
    return `not a PEM public key (${reason}); expected -----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY-----`;
  }
  return keyProblem(key, algorithms);
}

function secretProblem(secret: string, algorithms: readonly JwsAlgorithm[]): string | undefined {
  const bytes = Buffer.byteLength(secret, "utf8");
  const needed = minimumSecretBytes(algorithms);
  if (bytes < needed) {
    return `the secret is ${bytes} bytes; ${algorithms.filter(isHmac).join(", ")} need at least ${needed} (RFC 7518 §3.2), or it can be guessed from any token`;
  }
  return keyProblem(parseSecret(secret), algorithms);
}

function keyProblem(key: KeyObject, algorithms: readonly JwsAlgorithm[]): string | undefined {
  const problems = algorithms
    .map((alg) => verifyKeyFor(key, alg))
    .filter((result): result is string => typeof result === "string");
  return problems.length > 0 ? [...new Set(problems)].join("; ") : undefined;
}
