// The registry of substituted secrets: what is tracked, how text and data are redacted, and
// the process log leaving them out of every line.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger } from "../observability/logger.ts";
import { processSecrets, SecretValues } from "./secret-values.ts";

describe("SecretValues", () => {
  it("tracks file and encrypted values of any length, environment values of 8 or more", () => {
    const secrets = new SecretValues();
    assert.equal(secrets.add("pin", "file"), true);
    assert.equal(secrets.add("x9", "enc"), true);
    assert.equal(secrets.add("8080", "env"), false);
    assert.equal(secrets.add("long-enough", "env"), true);
    assert.equal(secrets.add("", "enc"), false);
    assert.equal(secrets.size, 3);
  });

  it("redacts every occurrence in text, the longest secret first", () => {
    const secrets = new SecretValues();
    secrets.add("abc-secret", "enc");
    secrets.add("abc-secret-longer", "enc");
    secrets.add("a.b*c", "enc");
    assert.equal(
      secrets.redactText("x abc-secret-longer y abc-secret z a.b*c, axbbc"),
      "x [redacted] y [redacted] z [redacted], axbbc",
    );
    assert.ok(secrets.appearsIn("..abc-secret.."));
    assert.ok(!secrets.appearsIn("nothing here"));
  });

  it("redacts strings anywhere in data, keys included, leaving other values alone", () => {
    const secrets = new SecretValues();
    secrets.add("s3cr3t-value", "file");
    const data = { a: ["Bearer s3cr3t-value", 1, true, null], b: { "s3cr3t-value": "k" } };
    assert.deepEqual(secrets.redactDeep(data), {
      a: ["Bearer [redacted]", 1, true, null],
      b: { "[redacted]": "k" },
    });
    assert.equal(data.a[0], "Bearer s3cr3t-value", "the input is not changed");
  });
});

describe("process log", () => {
  it("leaves substituted secrets out of every line, whatever field they are in", () => {
    processSecrets.add("log-secret-7f3a", "enc");
    const lines: string[] = [];
    const log = createLogger(
      { level: "info", destination: "stdout" },
      { write: (line: string) => void lines.push(line) },
    );
    log.info({ upstream: "http://u:log-secret-7f3a@h", n: 1 }, "using log-secret-7f3a");
    log.error({ err: new Error("failed with log-secret-7f3a") }, "oops");
    log.info({ plain: "nothing to hide" }, "ok");
    assert.equal(lines.length, 3);
    for (const line of lines) assert.ok(!line.includes("log-secret-7f3a"), line);
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(first.upstream, "http://u:[redacted]@h");
    assert.equal(first.msg, "using [redacted]");
    assert.equal(first.n, 1);
    const last = JSON.parse(lines[2]!) as Record<string, unknown>;
    assert.equal(last.plain, "nothing to hide");
  });
});
