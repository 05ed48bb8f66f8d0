// A bad edit undone, on the real CLI: after a refused config file, writing back the config
// that serves (through the file watcher, or with SIGHUP) ends the refusal: `/status` shows
// `lastReload: unchanged` instead of the failure, the admin API's `lastRefusal` is gone,
// and one info line in the process log says the file is valid again and unchanged.
import assert from "node:assert/strict";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { type GatehouseNode, startGatehouseNode } from "../helpers/gatehouse-node.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

/** A config whose one route serves `path` (line 9: a `routeExtra` there is a located problem). */
function config(upstream: string, watch: boolean, routeExtra = ""): string {
  return [
    "gateway:",
    "  listen: [{ host: 127.0.0.1, port: 0 }]",
    "  shutdownTimeout: 1s",
    "  status: { host: 127.0.0.1, port: 0 }",
    "  admin: { host: 127.0.0.1, port: 0 }",
    `  reload: { watch: ${watch}, debounce: 50ms }`,
    "  accessLog: { enabled: false }",
    `services: [{ name: s, targets: [{ url: "${upstream}" }] }]`,
    `routes: [{ name: r, match: { paths: ["/r"] }, service: s${routeExtra} }]`,
    "",
  ].join("\n");
}

/** Saves as editors do (a new file renamed over the old): the watcher never reads half of it. */
async function save(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file);
}

interface LastReload {
  at: string;
  result: string;
  problems?: number;
}

async function status(node: GatehouseNode) {
  const res = await request(`${node.statusUrl}/status`);
  return (await res.body.json()) as { config: { version: number }; lastReload: LastReload | null };
}

/** The process log's JSON lines from `from` on. */
function logLines(node: GatehouseNode, from: number): Record<string, unknown>[] {
  return node
    .output()
    .slice(from)
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("a refused config file fixed back to the config serving", () => {
  let up: Upstream;
  let dir: string;
  before(async () => {
    up = await startUpstream((_req, res) => res.end("up"));
    dir = await mkdtemp(join(tmpdir(), "gatehouse-reload-recovery-"));
  });
  after(async () => {
    await up.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const via of ["the file watcher", "SIGHUP"] as const) {
    it(`clears the failure at /status and says so in the log (${via})`, async () => {
      const watch = via === "the file watcher";
      const file = join(dir, `${watch ? "watched" : "sighup"}.yaml`);
      const good = config(up.url, watch);
      await writeFile(file, good);
      const node = await startGatehouseNode(file);
      const reload = () => {
        if (!watch) node.process.kill("SIGHUP");
      };
      try {
        assert.equal(await node.get("/r"), 200);

        await save(file, config(up.url, watch, ", priority: high"));
        reload();
        await until(
          async () => (await status(node)).lastReload?.result === "failure",
          "the bad edit to be refused",
        );
        const refused = await status(node);
        assert.equal(refused.lastReload?.problems, 1);
        const lastRefusal = async () =>
          (await node.admin("GET", "/config/versions")).body.lastRefusal;
        assert.match((await lastRefusal()).problems[0], /\.yaml:9:\d+ routes\[0\]\.priority/);

        await until(
          async () => /kept the running config/.test(node.output()),
          "the refusal's log line",
        );
        const logged = node.output().length;
        await save(file, good);
        reload();
        await until(
          async () => (await status(node)).lastReload?.result !== "failure",
          "the fixed file to end the refusal",
        );
        const fixed = await status(node);
        assert.equal(
          fixed.lastReload?.result,
          "unchanged",
          "valid, and equal to the config serving",
        );
        assert.equal(fixed.lastReload?.problems, undefined);
        assert.ok(
          fixed.lastReload!.at > refused.lastReload!.at,
          "a later attempt than the refusal",
        );
        assert.equal(fixed.config.version, 1, "nothing was applied");
        assert.equal(await lastRefusal(), undefined);
        assert.equal(await node.get("/r"), 200);

        // A watcher may see one save as two events and refuse the bad file twice: only the
        // lines about the fixed file count here.
        const recovered = () =>
          logLines(node, logged).filter((line) => /is valid again/.test(String(line.msg)));
        await until(async () => recovered().length > 0, "the log line");
        await new Promise((resolve) => setTimeout(resolve, 200));
        const lines = recovered();
        assert.equal(lines.length, 1, `one line: ${JSON.stringify(lines)}`);
        const [line] = lines;
        assert.equal(line!.level, "info");
        assert.equal(line!.config, file);
        assert.equal(line!.reason, watch ? "watch" : "SIGHUP");
        assert.match(String(line!.msg), /is valid again and unchanged/);
      } finally {
        await node.stop();
      }
    });
  }
});
