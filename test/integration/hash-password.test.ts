// `gatehouse hash-password` in a child process: the password from stdin or --password,
// scrypt by default or bcrypt, and the hash it prints is accepted by config and verifies.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePassword, passwordProblem } from "../../src/plugins/basic-auth/password-hash.ts";
import { runGatehouse } from "../helpers/cli.ts";

/** Runs `gatehouse hash-password ARGS` with `stdin` piped in. */
function hashPasswordCli(args: string[], stdin: string) {
  return runGatehouse(["hash-password", ...args], { stdin });
}

describe("gatehouse hash-password", () => {
  it("hashes the first line of stdin with scrypt by default", async () => {
    const { code, stdout } = await hashPasswordCli([], "correct horse: battery\n");
    assert.equal(code, 0);
    const hash = stdout.trim();
    assert.match(hash, /^\$scrypt\$ln=14,r=8,p=1\$/);
    assert.equal(passwordProblem(hash), undefined);
    assert.equal(await parsePassword(hash).verify("correct horse: battery"), true);
    assert.equal(await parsePassword(hash).verify("correct horse: battery\n"), false);
  });

  it("hashes --password with bcrypt at the cost asked for", async () => {
    const { code, stdout } = await hashPasswordCli(
      ["--scheme", "bcrypt", "--cost", "5", "--password", "s3cret"],
      "",
    );
    assert.equal(code, 0);
    const hash = stdout.trim();
    assert.match(hash, /^\$2b\$05\$/);
    assert.equal(await parsePassword(hash).verify("s3cret"), true);
  });

  it("fails with a message on an empty stdin, an unknown scheme or a bad cost", async () => {
    for (const [args, message] of [
      [[], /no password given/],
      [["--scheme", "md5", "--password", "x"], /--scheme must be scrypt or bcrypt/],
      [["--cost", "40", "--password", "x"], /--cost for scrypt must be a whole number 10–20/],
    ] as [string[], RegExp][]) {
      const { code, stderr } = await hashPasswordCli(args, "");
      assert.equal(code, 1, args.join(" "));
      assert.match(stderr, message);
    }
  });
});
