/**
 * @module config/key-digest
 * Keys written in a config (consumer API keys, admin keys) are `sha256:<64 hex digits>`, the
 * SHA-256 of the key, or the key itself. Both are compared by digest, so the config never
 * needs to hold the key and a lookup is one hash and one map access.
 */
import { createHash } from "node:crypto";
import { processSecrets } from "./secret-values.ts";

const digestPattern = /^sha256:[0-9a-f]{64}$/;

/** The hex SHA-256 of a key as presented by a client. */
export function keyDigest(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

/**
 * The digest of a key as the config gives it, and whether the config file holds the key in
 * plain text: neither a digest nor a value substituted from `${env:…}`, `${file:…}` or
 * `${enc:…}` (those are in the process's secret registry, in every worker thread too).
 */
export function writtenKeyDigest(written: string): { digest: string; plain: boolean } {
  return digestPattern.test(written)
    ? { digest: written.slice("sha256:".length), plain: false }
    : { digest: keyDigest(written), plain: !processSecrets.has(written) };
}
