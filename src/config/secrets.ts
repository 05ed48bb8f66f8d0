/**
 * @module config/secrets
 * Encrypted config values: AES-256-GCM under a 32-byte key, written in the config as
 * `${enc:v1.<iv>.<ciphertext>.<tag>}` (each part base64url). The key comes from
 * `GATEHOUSE_SECRET_KEY` (64 hex digits, or base64 / base64url) or from the file named by
 * `GATEHOUSE_SECRET_KEY_FILE`. No error here ever holds a key or a plaintext.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: messages show the literal ${...} syntax
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";

/** The format tag; a later format gets `v2` and this one keeps decrypting. */
const version = "v1";
const keyBytes = 32;
const ivBytes = 12;
const tagBytes = 16;
// Binding the format tag into the tag means a v1 body cannot be replayed under another format.
const additionalData = Buffer.from(`gatehouse-secret-${version}`);

/** Why a key could not be had or a value could not be decrypted; the message is safe to print. */
export class SecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretError";
  }
}

/** A new random key, as base64 (44 characters); `openssl rand -base64 32` makes the same kind. */
export function generateSecretKey(): string {
  return randomBytes(keyBytes).toString("base64");
}

/**
 * The 32 key bytes written as text: 64 hex digits, or base64 / base64url (with or without
 * padding). Surrounding whitespace (a key file's newline) is ignored. `origin` names where
 * the text came from, for the error.
 */
export function parseSecretKey(text: string, origin: string): Buffer {
  const written = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(written)) return Buffer.from(written, "hex");
  if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(written)) {
    const key = Buffer.from(written, "base64");
    if (key.length === keyBytes) return key;
  }
  throw new SecretError(
    `${origin} is not a secret key: expected 32 bytes written as 64 hex digits or as base64 ` +
      `(${written.length} characters found; make one with "gatehouse secret generate-key")`,
  );
}

/**
 * The key from `GATEHOUSE_SECRET_KEY`, else from the file `GATEHOUSE_SECRET_KEY_FILE`
 * names (relative to the working directory). Setting both is an error: which one wins
 * would otherwise be a guess.
 */
export function secretKeyFromEnv(env: Record<string, string | undefined>): Buffer {
  const inline = env.GATEHOUSE_SECRET_KEY;
  const file = env.GATEHOUSE_SECRET_KEY_FILE;
  if (inline && file)
    throw new SecretError("set GATEHOUSE_SECRET_KEY or GATEHOUSE_SECRET_KEY_FILE, not both");
  if (inline) return parseSecretKey(inline, "GATEHOUSE_SECRET_KEY");
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      const { code } = error as NodeJS.ErrnoException;
      throw new SecretError(
        `cannot read the key file ${file} (GATEHOUSE_SECRET_KEY_FILE): ${code ?? "unreadable"}`,
      );
    }
    return parseSecretKey(text, `the key file ${file}`);
  }
  throw new SecretError(
    'no secret key: set GATEHOUSE_SECRET_KEY or GATEHOUSE_SECRET_KEY_FILE (make one with "gatehouse secret generate-key")',
  );
}

/** `v1.<iv>.<ciphertext>.<tag>`: what goes inside `${enc:...}`. A new random IV every time. */
export function encryptSecret(plaintext: string, key: Buffer): string {
  const iv = randomBytes(ivBytes);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: tagBytes });
  cipher.setAAD(additionalData);
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  const parts = [iv, body, cipher.getAuthTag()].map((part) => part.toString("base64url"));
  return [version, ...parts].join(".");
}

/** The plaintext of a `v1.<iv>.<ciphertext>.<tag>` value; SecretError if it is malformed or fails authentication. */
export function decryptSecret(token: string, key: Buffer): string {
  const parts = token.split(".");
  if (parts[0] !== version)
    throw new SecretError(
      `unknown encrypted value format "${(parts[0] ?? "").slice(0, 8)}" (expected ${version}.<iv>.<ciphertext>.<tag>)`,
    );
  const [iv, body, tag] = parts.slice(1).map(decodePart);
  if (parts.length !== 4 || iv?.length !== ivBytes || tag?.length !== tagBytes || !body)
    throw new SecretError(
      `malformed encrypted value: expected ${version}.<iv>.<ciphertext>.<tag> in base64url, as "gatehouse secret encrypt" prints`,
    );
  const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: tagBytes });
  decipher.setAAD(additionalData);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
  } catch {
    throw new SecretError(
      "cannot decrypt: the secret key is not the one it was encrypted with, or the value was altered",
    );
  }
}

function decodePart(part: string): Buffer | undefined {
  return /^[A-Za-z0-9_-]*$/.test(part) ? Buffer.from(part, "base64url") : undefined;
}
