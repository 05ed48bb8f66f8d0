// AES-256-GCM config values: round trips, key formats, and refusals that never show the key
// or the plaintext.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  decryptSecret,
  encryptSecret,
  generateSecretKey,
  parseSecretKey,
  SecretError,
  secretKeyFromEnv,
} from "./secrets.ts";

const key = parseSecretKey(generateSecretKey(), "test key");
const otherKey = parseSecretKey(generateSecretKey(), "test key");

/** The error `run` throws, checked to be a SecretError that mentions none of `hidden`. */
function refusal(run: () => unknown, hidden: string[] = []): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof SecretError, String(error));
    for (const text of hidden) assert.ok(!error.message.includes(text), error.message);
    return error.message;
  }
  assert.fail("expected a SecretError");
}

describe("encryptSecret / decryptSecret", () => {
  it("round-trips text, including empty, multi-line and non-ASCII values", () => {
    for (const plaintext of ["s3cret-api-key", "", "line one\nline two\n", "pässwörd ✓"])
      assert.equal(decryptSecret(encryptSecret(plaintext, key), key), plaintext);
  });

  it("writes v1.<iv>.<ciphertext>.<tag> in base64url, with a new IV each time", () => {
    const a = encryptSecret("same", key);
    const b = encryptSecret("same", key);
    assert.match(a, /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    assert.notEqual(a, b);
    assert.notEqual(a.split(".")[1], b.split(".")[1]);
  });

  it("refuses a wrong key without showing the key or the plaintext", () => {
    const token = encryptSecret("top-secret-value", key);
    const message = refusal(
      () => decryptSecret(token, otherKey),
      ["top-secret-value", key.toString("base64"), otherKey.toString("base64")],
    );
    assert.match(message, /not the one it was encrypted with, or the value was altered/);
  });

  it("refuses a value changed in any part", () => {
    const token = encryptSecret("top-secret-value", key);
    const parts = token.split(".");
    for (const index of [1, 2, 3]) {
      const changed = [...parts];
      const part = changed[index]!;
      changed[index] = (part[0] === "A" ? "B" : "A") + part.slice(1);
      refusal(() => decryptSecret(changed.join("."), key), ["top-secret-value"]);
    }
  });

  it("refuses malformed values and unknown versions, saying what is expected", () => {
    assert.match(
      refusal(() => decryptSecret("v2.a.b.c", key)),
      /unknown encrypted value format "v2"/,
    );
    assert.match(
      refusal(() => decryptSecret("v1.abc", key)),
      /malformed encrypted value/,
    );
    assert.match(
      refusal(() => decryptSecret("v1.a+b.c.d", key)),
      /malformed encrypted value/,
    );
  });
});

describe("secret keys", () => {
  it("accepts 32 bytes as hex, base64 or base64url, ignoring surrounding whitespace", () => {
    const bytes = Buffer.from(generateSecretKey(), "base64");
    for (const written of [
      bytes.toString("hex"),
      bytes.toString("base64"),
      bytes.toString("base64url"),
      `  ${bytes.toString("hex").toUpperCase()}\n`,
    ])
      assert.deepEqual(parseSecretKey(written, "k"), bytes);
  });

  it("generates a new 44-character base64 key each time", () => {
    const a = generateSecretKey();
    assert.match(a, /^[A-Za-z0-9+/]{43}=$/);
    assert.notEqual(a, generateSecretKey());
  });

  it("refuses a key of the wrong size without echoing it", () => {
    const short = Buffer.alloc(16, 7).toString("base64");
    const message = refusal(() => parseSecretKey(short, "GATEHOUSE_SECRET_KEY"), [short]);
    assert.match(message, /GATEHOUSE_SECRET_KEY is not a secret key: expected 32 bytes/);
    refusal(() => parseSecretKey("correct horse battery staple", "k"), ["horse"]);
  });

  it("reads the key from GATEHOUSE_SECRET_KEY or from GATEHOUSE_SECRET_KEY_FILE", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-key-"));
    try {
      const written = generateSecretKey();
      const file = join(dir, "key");
      await writeFile(file, `${written}\n`);
      const bytes = Buffer.from(written, "base64");
      assert.deepEqual(secretKeyFromEnv({ GATEHOUSE_SECRET_KEY: written }), bytes);
      assert.deepEqual(secretKeyFromEnv({ GATEHOUSE_SECRET_KEY_FILE: file }), bytes);
      assert.match(
        refusal(() => secretKeyFromEnv({ GATEHOUSE_SECRET_KEY_FILE: join(dir, "nope") })),
        /cannot read the key file .*nope \(GATEHOUSE_SECRET_KEY_FILE\): ENOENT/,
      );
      assert.match(
        refusal(() =>
          secretKeyFromEnv({ GATEHOUSE_SECRET_KEY: written, GATEHOUSE_SECRET_KEY_FILE: file }),
        ),
        /not both/,
      );
      assert.match(
        refusal(() => secretKeyFromEnv({})),
        /no secret key: set GATEHOUSE_SECRET_KEY/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
