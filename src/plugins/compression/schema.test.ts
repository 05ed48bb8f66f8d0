import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configProblems } from "../../../test/helpers/config-problems.ts";
import { compressionSchema } from "./schema.ts";

/** A config with the compression plugin on one route, with `config` as YAML flow text. */
function withCompression(config: string): string {
  return [
    "gateway:",
    "  listen: [{ host: 127.0.0.1, port: 8080 }]",
    "services:",
    "  - { name: s, targets: [{ url: http://127.0.0.1:9001 }] }",
    "routes:",
    "  - name: r",
    '    match: { paths: ["/*"] }',
    "    service: s",
    "    plugins:",
    `      - { name: compression, config: ${config} }`,
  ].join("\n");
}

describe("compression config", () => {
  it("works with no options: every coding this Node has, fast levels, 1 KB, no decoding", () => {
    const config = compressionSchema.parse({});
    assert.deepEqual(config.encodings, ["zstd", "br", "gzip"]);
    assert.deepEqual(config.levels, { gzip: 1, br: 4, zstd: 3 });
    assert.equal(config.minSize, 1024);
    assert.equal(config.decompressRequests, false);
    assert.equal(config.maxDecompressedSize, 10 * 1024 * 1024);
    assert.ok(config.types.includes("application/*+json"));
  });

  it("names the line and column of a bad option", () => {
    assert.deepEqual(configProblems(withCompression("{ encodings: [gzip, gzip] }")), [
      "gw.yaml:10:51 routes[0].plugins[0].config.encodings: a coding is listed twice",
    ]);
    const [type] = configProblems(withCompression('{ types: ["application/json", "json"] }'));
    assert.match(
      type!,
      /^gw\.yaml:10:\d+ routes\[0\]\.plugins\[0\]\.config\.types\[1\]: expected a media type/,
    );
    const [level] = configProblems(withCompression("{ levels: { zstd: 22 } }"));
    assert.match(level!, /^gw\.yaml:10:\d+ routes\[0\]\.plugins\[0\]\.config\.levels\.zstd: /);
    const [coding] = configProblems(withCompression("{ encodings: [deflate] }"));
    assert.match(coding!, /config\.encodings\[0\]: /);
  });
});
