/**
 * @module plugins/basic-auth/password-hash
 * The password formats a consumer's `credentials.basic` may hold, parsed once at load into
 * a verifier, and the hashing `gatehouse hash-password` does. Formats:
 *
 *   $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>   salt and hash in base64 (RFC 4648 §4,
 *                                                   `=` padding left out, as in PHC strings)
 *   $2a$ / $2b$ / $2y$<cost>$<53 chars>             bcrypt, checked with bcryptjs
 *   anything else not starting with `$<scheme>$`    the password itself (warned at load)
 *
 * Verification is asynchronous: scrypt runs on libuv's thread pool, never on the event loop.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import bcrypt from "bcryptjs";
import {
  type PasswordCheckMessage,
  passwordCheckChannel,
} from "../../observability/diagnostics.ts";

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  length: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/** Checks a password; resolves true only for the right one. */
export type PasswordVerifier = (password: string) => Promise<boolean>;

/** A parsed `password` value: its kind, and how to check a password against it. */
export interface PasswordCredential {
  kind: "scrypt" | "bcrypt" | "plain";
  verify: PasswordVerifier;
}

/** scrypt limits: N up to 2^20, and at most 256 MiB of memory per verification. */
const maxLogN = 20;
const maxMemory = 256 * 1024 * 1024;
const scryptPattern =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const bcryptPattern = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
/** `$name$…`: something meant as a hash, never a plain password. */
const hashLike = /^\$[a-z0-9-]+\$/;

/** Defaults for new hashes: about 50–100 ms each on a current server core. */
export const defaultScryptLogN = 14;
export const defaultBcryptCost = 10;

/** Why `value` is not a usable password entry, or undefined when it is. */
export function passwordProblem(value: string): string | undefined {
  if (value.startsWith("$scrypt$")) return scryptProblem(value);
  if (/^\$2[aby]\$/.test(value)) {
    const match = bcryptPattern.exec(value);
    if (!match) return "a bcrypt hash is $2b$<cost>$ followed by 53 characters of [./A-Za-z0-9]";
    const cost = Number(match[1]);
    return cost < 4 || cost > 31 ? `bcrypt cost ${cost} is outside 4–31` : undefined;
  }
  if (hashLike.test(value)) {
    const scheme = value.slice(1, value.indexOf("$", 1));
    return `unsupported password hash scheme "${scheme}": use $scrypt$ or bcrypt ($2b$), e.g. from \`gatehouse hash-password\``;
  }
  return undefined;
}

function scryptProblem(value: string): string | undefined {
  const match = scryptPattern.exec(value);
  if (!match) return "a scrypt hash is $scrypt$ln=<log2 N>,r=<r>,p=<p>$<base64 salt>$<base64 hash>";
  const [logN, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (logN < 1 || logN > maxLogN) return `scrypt ln=${logN} is outside 1–${maxLogN}`;
  if (r < 1 || p < 1 || p > 16) return "scrypt r must be at least 1 and p within 1–16";
  if (128 * 2 ** logN * r > maxMemory) return `scrypt ln=${logN},r=${r} needs more than 256 MiB`;
  if (!isBase64(match[4]!) || Buffer.from(match[4]!, "base64").length < 8)
    return "the scrypt salt must be base64 of at least 8 bytes";
  if (!isBase64(match[5]!) || Buffer.from(match[5]!, "base64").length < 16)
    return "the scrypt hash must be base64 of at least 16 bytes";
  return undefined;
}

/** Unpadded base64 that decodes and re-encodes to itself (Node's decoder skips bad input). */
function isBase64(text: string): boolean {
  return Buffer.from(text, "base64").toString("base64").replace(/=+$/, "") === text;
}

/** Parses a password entry that passed `passwordProblem`. */
export function parsePassword(value: string): PasswordCredential {
  const credential = parseCredential(value);
  const { kind, verify } = credential;
  return {
    kind,
    verify: (password) => {
      if (passwordCheckChannel.hasSubscribers) {
        passwordCheckChannel.publish({ kind } satisfies PasswordCheckMessage);
      }
      return verify(password);
    },
  };
}

function parseCredential(value: string): PasswordCredential {
  const scryptMatch = scryptPattern.exec(value);
  if (scryptMatch) {
    const N = 2 ** Number(scryptMatch[1]);
    const r = Number(scryptMatch[2]);
    const p = Number(scryptMatch[3]);
    const salt = Buffer.from(scryptMatch[4]!, "base64");
    const expected = Buffer.from(scryptMatch[5]!, "base64");
    const options = { N, r, p, maxmem: 256 * N * r };
    return {
      kind: "scrypt",
      verify: async (password) =>
        timingSafeEqual(await scryptAsync(password, salt, expected.length, options), expected),
    };
  }
  if (bcryptPattern.test(value)) {
    return { kind: "bcrypt", verify: (password) => bcrypt.compare(password, value) };
  }
  // Digests of equal length, so the comparison takes the same time whatever was sent.
  const expected = sha256(value);
  return {
    kind: "plain",
    verify: async (password) => timingSafeEqual(sha256(password), expected),
  };
}

const sha256 = (text: string) => createHash("sha256").update(text).digest();

/** Hashes a password for a consumer's `credentials.basic`. */
export async function hashPassword(
  password: string,
  scheme: "scrypt" | "bcrypt",
  cost?: number,
): Promise<string> {
  if (scheme === "bcrypt") return bcrypt.hash(password, cost ?? defaultBcryptCost);
  const logN = cost ?? defaultScryptLogN;
  const [r, p] = [8, 1];
  const salt = randomBytes(16);
  const N = 2 ** logN;
  const hash = await scryptAsync(password, salt, 32, { N, r, p, maxmem: 256 * N * r });
  const b64 = (bytes: Buffer) => bytes.toString("base64").replace(/=+$/, "");
  return `$scrypt$ln=${logN},r=${r},p=${p}$${b64(salt)}$${b64(hash)}`;
}
