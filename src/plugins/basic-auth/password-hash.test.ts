// Password entries: each accepted format verifies the right password only, and each
// malformed hash is named precisely (these messages are what a config error shows).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hashPassword, parsePassword, passwordProblem } from "./password-hash.ts";

describe("password hashes", () => {
  it("verifies scrypt, bcrypt and plain entries, and only the right password", async () => {
    for (const entry of [
      await hashPassword("s3cret pässword", "scrypt", 10),
      await hashPassword("s3cret pässword", "bcrypt", 4),
      "s3cret pässword",
    ]) {
      assert.equal(passwordProblem(entry), undefined, entry);
      const { verify } = parsePassword(entry);
      assert.equal(await verify("s3cret pässword"), true, entry);
      assert.equal(await verify("s3cret passwort"), false, entry);
      assert.equal(await verify(""), false, entry);
    }
  });

  it("writes scrypt hashes as $scrypt$ln=,r=,p=$salt$hash in unpadded base64", async () => {
    const hash = await hashPassword("x", "scrypt");
    assert.match(hash, /^\$scrypt\$ln=14,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  });

  it("accepts $2a$ and $2y$ bcrypt hashes as well as $2b$", async () => {
    const hash = await hashPassword("pw", "bcrypt", 4);
    for (const prefix of ["$2a$", "$2y$"]) {
      const variant = prefix + hash.slice(4);
      assert.equal(passwordProblem(variant), undefined);
      assert.equal(await parsePassword(variant).verify("pw"), true);
    }
  });

  it("names what is wrong with a malformed or unsupported hash", () => {
    const salt = "c2FsdHNhbHRzYWx0c2FsdA";
    const hash = "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
    const cases: [string, RegExp][] = [
      ["$scrypt$ln=14,r=8$abc$def", /a scrypt hash is \$scrypt\$ln=/],
      [`$scrypt$ln=25,r=8,p=1$${salt}$${hash}`, /ln=25 is outside 1–20/],
      [`$scrypt$ln=20,r=16,p=1$${salt}$${hash}`, /needs more than 256 MiB/],
      [`$scrypt$ln=14,r=8,p=1$c2FsdA$${hash}`, /salt must be base64 of at least 8 bytes/],
      [`$scrypt$ln=14,r=8,p=1$${salt}$aGFzaA`, /hash must be base64 of at least 16 bytes/],
      ["$2b$10$tooShort", /a bcrypt hash is \$2b\$<cost>\$/],
      [`$2b$45$${"a".repeat(53)}`, /bcrypt cost 45 is outside 4–31/],
      [
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        /unsupported password hash scheme "argon2id"/,
      ],
    ];
    for (const [entry, message] of cases)
      assert.match(passwordProblem(entry) ?? "", message, entry);
  });
});
