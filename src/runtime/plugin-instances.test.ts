// A runtime does not keep the one it replaced alive: after a few reloads the first
// runtime's plugin instances are garbage (a runtime holding its predecessor would keep
// every runtime since start alive). A plugin that names the files it reads is created
// again when they change, the config text the same; the others are kept.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { z } from "zod";
import { Gateway } from "../gateway.ts";
import { definePlugin } from "../pipeline/plugin.ts";
import { createPluginRegistry } from "../plugins/index.ts";
import { parseGatewayConfig } from "./validate.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const config = (limit: number) =>
  parseGatewayConfig(
    [
      "gateway: { listen: [{ host: 127.0.0.1, port: 0 }], log: { level: silent } }",
      'services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]',
      "routes:",
      '  - { name: r, match: { paths: ["/a"] }, service: s, plugins: [{ name: rate-limit, config: { limit: ' +
        `${limit}, window: 1m } }] }`,
    ].join("\n"),
    "gatehouse.yaml",
  );

it("lets the replaced runtimes' plugin instances be collected", async () => {
  const gateway = new Gateway(config(1));
  const first = new WeakRef(gateway.runtime.plugins);
  for (let limit = 2; limit <= 5; limit++) await gateway.reload(config(limit));
  await gateway.stop();
  for (let i = 0; i < 3 && first.deref(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
  }
  assert.equal(first.deref(), undefined);
});

it("creates a plugin that names its files again when they change, and keeps the others", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-plugin-files-"));
  const created = { reader: 0, plain: 0 };
  const plugins = createPluginRegistry([
    definePlugin({
      name: "reader",
      schema: z.strictObject({}),
      priority: 20,
      files: () => ["read.txt"],
      create: () => {
        created.reader++;
        return {};
      },
    }),
    definePlugin({
      name: "plain",
      schema: z.strictObject({}),
      priority: 10,
      create: () => {
        created.plain++;
        return {};
      },
    }),
  ]);
  const load = () =>
    parseGatewayConfig(
      [
        "gateway: { listen: [{ host: 127.0.0.1, port: 0 }], log: { level: silent } }",
        'services: [{ name: s, targets: [{ url: "http://127.0.0.1:9" }] }]',
        'routes: [{ name: r, match: { paths: ["/a"] }, service: s }]',
        "plugins: [{ name: reader }, { name: plain }]",
      ].join("\n"),
      join(dir, "gatehouse.yaml"),
      {},
      plugins,
    );
  writeFileSync(join(dir, "read.txt"), "one");
  const gateway = new Gateway(load(), { plugins });
  try {
    await gateway.reload(load());
    assert.deepEqual(created, { reader: 1, plain: 1 }, "nothing changed: both kept");
    writeFileSync(join(dir, "read.txt"), "two");
    await gateway.reload(load());
    assert.deepEqual(created, { reader: 2, plain: 1 });
  } finally {
    await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
