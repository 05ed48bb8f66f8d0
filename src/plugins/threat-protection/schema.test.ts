// The threat-protection config: no options is a working config (JSON limits on, patterns
// reported, attack tools refused, XML passed); a mistake is a config error at its line and
// column, as `gatehouse validate` prints it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configProblems } from "../../../test/helpers/config-problems.ts";
import { threatProtectionSchema } from "./schema.ts";

const withPlugin = (config: string) =>
  [
    "gateway: { listen: [{ port: 8080 }] }",
    "services: [{ name: s, targets: [{ url: http://127.0.0.1:9001 }] }]",
    "routes:",
    "  - name: r",
    '    match: { paths: ["/*"] }',
    "    service: s",
    "    plugins:",
    "      - name: threat-protection",
    `        config: ${config}`,
  ].join("\n");

/** A part of the config that is on (not `false`). */
function on<T>(part: T | false): T {
  assert.notEqual(part, false);
  return part as T;
}

describe("threat-protection config", () => {
  it("works with no options", () => {
    const config = threatProtectionSchema.parse({});
    assert.equal(on(config.json).maxDepth, 64);
    assert.equal(on(config.json).maxSize, 10 * 1024 * 1024);
    assert.equal(on(config.patterns).mode, "report");
    assert.deepEqual(on(config.patterns).headers, ["user-agent", "referer"]);
    assert.equal(on(config.badBots).mode, "block");
    assert.equal(config.xml, "pass");
    assert.deepEqual(configProblems(withPlugin("{}")), []);
  });

  it("reads header names in any case and sizes with units", () => {
    const config = threatProtectionSchema.parse({
      patterns: { headers: ["X-Forwarded-Host"] },
      json: { maxStringLength: "64kb" },
    });
    assert.deepEqual(on(config.patterns).headers, ["x-forwarded-host"]);
    assert.equal(on(config.json).maxStringLength, 64 * 1024);
  });

  it("names a mistake's place", () => {
    const [problem] = configProblems(withPlugin("{ patterns: { mode: deny } }"));
    assert.match(problem ?? "", /^gw\.yaml:9:\d+ .*patterns\.mode.*block.*report/);
    const [unknown] = configProblems(withPlugin("{ json: { maxDepht: 3 } }"));
    assert.match(unknown ?? "", /^gw\.yaml:9:\d+ .*maxDepht/);
  });
});
