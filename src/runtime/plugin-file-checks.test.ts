import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { z } from "zod";
import { configOriginOf } from "../config/document.ts";
import { type ConfigError, formatProblem, parseSourcesPositioned } from "../config/load.ts";
import { configHash } from "../observability/config-revision.ts";
import { definePlugin } from "../pipeline/plugin.ts";
import { createPluginRegistry } from "../plugins/index.ts";
import { gatewayChecksFor, parseGatewayConfig } from "./validate.ts";

/** A plugin that reads a file its config names, and finds it wanting. */
const reader = definePlugin({
  name: "file-reader",
  schema: z.strictObject({ file: z.string(), mode: z.string().default("strict") }),
  priority: 10,
  create: () => ({}),
  check(config, { baseDir }) {
    return [
      {
        message: `cannot use ${config.file}`,
        at: { file: `${baseDir}/${config.file}`, line: 3, col: 7 },
      },
      { message: "mode is wrong for that file", path: ["mode"] },
    ];
  },
});

describe("plugin file checks", () => {
  it("report a plugin's problems with the rest: in the file it read, and at its config", () => {
    const text = [
      "gateway: { listen: [{ port: 0 }] }",
      "services: [{ name: s, targets: [{ url: 'http://127.0.0.1:1' }] }]",
      "routes:",
      "  - name: r",
      "    match: { paths: [/x] }",
      "    service: s",
      "    plugins: [{ name: file-reader, config: { file: a.proto, mode: loose } }]",
      "",
    ].join("\n");
    const plugins = createPluginRegistry([reader]);
    assert.throws(
      () => parseGatewayConfig(text, "/cfg/gatehouse.yaml", {}, plugins),
      (error: ConfigError) => {
        assert.deepEqual(error.problems.map(formatProblem), [
          "/cfg/gatehouse.yaml:7:67 routes[0].plugins[0].config.mode: mode is wrong for that file",
          "/cfg/a.proto:3:7 cannot use a.proto (routes[0].plugins[0].config)",
        ]);
        return true;
      },
    );
  });
});

/** A plugin that reads the file its config names (a stand-in for a `.proto`). */
const named = definePlugin({
  name: "file-namer",
  schema: z.strictObject({ file: z.string() }),
  priority: 10,
  create: () => ({}),
  files: (config) => [config.file],
});

describe("plugin files", () => {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-plugin-files-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "gatehouse.yaml");
  const text = [
    "gateway: { listen: [{ port: 0 }] }",
    "services: [{ name: s, targets: [{ url: 'http://127.0.0.1:1' }] }]",
    "routes: [{ name: r, match: { paths: [/x] }, service: s }]",
    "plugins: [{ name: file-namer, config: { file: read.txt } }]",
    "",
  ].join("\n");
  const plugins = createPluginRegistry([named]);
  const load = () => parseGatewayConfig(text, file, {}, plugins);

  it("are the config's: named in its origin, their content in its hash", () => {
    writeFileSync(join(dir, "read.txt"), "one");
    const first = load();
    assert.deepEqual(configOriginOf(first)?.dependsOn?.files, [join(dir, "read.txt")]);
    assert.equal(configHash(load()), configHash(first), "the same content, the same hash");
    writeFileSync(join(dir, "read.txt"), "two");
    const second = load();
    assert.deepEqual(second, first, "the config itself is the same");
    assert.notEqual(configHash(second), configHash(first));
  });

  it("are the same whichever way the config is loaded", () => {
    writeFileSync(join(dir, "read.txt"), "three");
    const positioned = parseSourcesPositioned([{ file, text }], gatewayChecksFor(plugins));
    assert.deepEqual(configOriginOf(positioned)?.dependsOn, configOriginOf(load())?.dependsOn);
  });
});
