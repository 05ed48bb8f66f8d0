import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { type ConfigError, formatProblem } from "../config/load.ts";
import { definePlugin } from "../pipeline/plugin.ts";
import { createPluginRegistry } from "../plugins/index.ts";
import { parseGatewayConfig } from "./validate.ts";

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
