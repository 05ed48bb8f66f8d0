// A worker thread that dies (here: a third-party plugin's uncaught exception) is started
// again with the config serving now, admin changes included; while it restarts, the other
// worker keeps serving the port. The real CLI, a real plugin module, real sockets.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { request } from "undici";
import { cliPath } from "../helpers/cli.ts";
import { RawConnection } from "../helpers/raw-connection.ts";
import { until } from "../helpers/until.ts";
import { startUpstream } from "../helpers/upstream.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const index = pathToFileURL(join(root, "src/index.ts")).href;
const zod = pathToFileURL(join(root, "node_modules/zod/index.js")).href;

/** A plugin with a bug: `/crash` throws outside any request, which ends its thread. */
const crashingPlugin = `import { z } from "${zod}";
import { definePlugin } from "${index}";
export default definePlugin({
  name: "crash-on-request",
  schema: z.strictObject({}),
  priority: 10,
  create: () => ({
    access: (ctx) => {
      if (ctx.path !== "/crash") return;
      setTimeout(() => { throw new Error("a plugin bug"); }, 5);
      ctx.respond(200, "crashing");
    },
  }),
});
`;

async function fresh(url: string) {
  const res = await request(url, { reset: true });
  return { status: res.statusCode, body: await res.body.text() };
}

function logOf(child: ChildProcess) {
  let text = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    text += chunk;
  });
  return {
    text: () => text,
    async waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
      for (let i = 0; i < 1000; i++) {
        const match = text.match(pattern);
        if (match) return match;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`no log line matched ${pattern}:\n${text}`);
    },
  };
}

describe("worker restart", () => {
  it("restarts a crashed worker with the current config while the other keeps serving", async () => {
    const up = await startUpstream((req, res) => res.end(`up ${req.url}`));
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-workers-"));
    await writeFile(join(dir, "crash.ts"), crashingPlugin);
    const file = join(dir, "gatehouse.yaml");
    await writeFile(
      file,
      [
        "gateway:",
        "  listen: [{ host: 127.0.0.1, port: 0 }]",
        "  status: { port: 0 }",
        "  admin: { port: 0 }",
        "  workers: 2",
        "  shutdownTimeout: 1s",
        "  accessLog: { enabled: false }",
        "  pluginModules: [./crash.ts]",
        `services: [{ name: s, targets: [{ url: "${up.url}" }] }]`,
        "routes: [{ name: r, match: { paths: [/crash, /old] }, service: s, plugins: [{ name: crash-on-request }] }]",
      ].join("\n"),
    );
    const child = spawn(process.execPath, [cliPath, "start", "-c", file], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const log = logOf(child);
    try {
      const address = async (listener: string) =>
        (await log.waitFor(new RegExp(`"listener":"${listener}","address":"([^"]+)"`)))[1];
      const proxy = `http://${await address("proxy")}`;
      const status = `http://${await address("status")}`;
      const admin = `http://${await address("admin")}`;

      const created = await request(`${admin}/routes`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "added", match: { paths: ["/added"] }, service: "s" }),
      });
      assert.equal(created.statusCode, 201, await created.body.text());
      const version = created.headers.etag;

      // Every worker has served /added, and /metrics has read their counts.
      const served = async () => {
        const text = await (await request(`${status}/metrics`)).body.text();
        return [...text.matchAll(/^gatehouse_requests_total\{route="added"[^}]*\} (\d+)/gm)]
          .map((match) => Number(match[1]))
          .reduce((sum, count) => sum + count, 0);
      };
      await Promise.all(Array.from({ length: 20 }, () => fresh(`${proxy}/added`)));
      assert.equal(await served(), 20);

      assert.equal((await fresh(`${proxy}/crash`)).body, "crashing");
      await log.waitFor(/worker 1 exited|worker 2 exited/);
      // One worker is gone and the other has the port to itself until the restart.
      for (let i = 0; i < 10; i++) assert.equal((await fresh(`${proxy}/added`)).body, "up /added");
      await log.waitFor(/worker \d restarted/);

      const answers = await Promise.all(Array.from({ length: 20 }, () => fresh(`${proxy}/added`)));
      assert.deepEqual(new Set(answers.map((answer) => answer.body)), new Set(["up /added"]));
      const report = (await (await request(`${status}/status`)).body.json()) as {
        config: { version: number };
        workers: { worker: number; restarts: number; connectionsAccepted: number }[];
      };
      assert.equal(`"${report.config.version}"`, version, "the admin change is still serving");
      assert.deepEqual(report.workers.map((w) => w.restarts).sort(), [0, 1]);
      assert.ok(
        report.workers.every((w) => w.connectionsAccepted > 0),
        "both serve again",
      );
      // The dead worker's counts are kept: a counter that went back would read as a reset.
      assert.equal(await served(), 20 + 10 + 20);
    } finally {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      await up.close();
    }
  });

  it("gives the connections of a worker that died back to the node's connection cap", async () => {
    const up = await startUpstream((req, res) => res.end(`up ${req.url}`));
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-workers-"));
    await writeFile(join(dir, "crash.ts"), crashingPlugin);
    const file = join(dir, "gatehouse.yaml");
    await writeFile(
      file,
      [
        "gateway:",
        "  listen: [{ host: 127.0.0.1, port: 0 }]",
        "  status: { port: 0 }",
        "  workers: 2",
        "  shutdownTimeout: 1s",
        "  accessLog: { enabled: false }",
        "  limits: { maxClientConnections: 6 }",
        "  pluginModules: [./crash.ts]",
        `services: [{ name: s, targets: [{ url: "${up.url}" }] }]`,
        "routes: [{ name: r, match: { paths: [/crash, /old] }, service: s, plugins: [{ name: crash-on-request }] }]",
      ].join("\n"),
    );
    const child = spawn(process.execPath, [cliPath, "start", "-c", file], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const log = logOf(child);
    const held: RawConnection[] = [];
    /** A new connection with one request: its status (503: refused at the cap). */
    const serve = async (port: number, path: string, keep = true) => {
      const connection = await RawConnection.open(port);
      if (keep) held.push(connection);
      await connection.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`).catch(() => {});
      const { status } = await connection.readResponse();
      if (!keep) connection.destroy();
      return status;
    };
    try {
      const port = Number((await log.waitFor(/"listener":"proxy","address":"[^"]+:(\d+)"/))[1]);
      for (let i = 0; i < 6; i++) assert.equal(await serve(port, "/old"), 200);
      assert.equal(await serve(port, "/old", false), 503, "the node is full");

      // The worker holding the first connection dies, and its connections with it.
      await held[0]!.write("GET /crash HTTP/1.1\r\nHost: a\r\n\r\n");
      await log.waitFor(/worker \d exited/);
      await until(() => held[0]!.closed, "the dead worker's connection to close");
      await new Promise((resolve) => setTimeout(resolve, 200));
      const lost = held.filter((connection) => connection.closed).length;
      await log.waitFor(/worker \d restarted/);

      // Their places are free again: as many new connections are served, and no more.
      for (let i = 0; i < lost; i++) assert.equal(await serve(port, "/old"), 200, `new ${i}`);
      assert.equal(await serve(port, "/old", false), 503, "full again");
    } finally {
      for (const connection of held) connection.destroy();
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      await up.close();
    }
  });
});
