// SIGHUP on the real CLI: a valid edited file is applied without a restart; an invalid
// one is reported at FILE:LINE:COL in the process log, and the running config keeps serving.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { startUpstream } from "../helpers/upstream.ts";

const cli = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

function config(upstream: string, path: string, extra = ""): string {
  return [
    "gateway:",
    "  listen: [{ host: 127.0.0.1, port: 0 }]",
    "  shutdownTimeout: 1s",
    "  status: { port: 0 }",
    // SIGHUP alone: with the watcher on, it could apply a rewrite before the signal does.
    "  reload: { watch: false }",
    `services: [{ name: s, targets: [{ url: "${upstream}" }] }]`,
    `routes: [{ name: r, match: { paths: ["${path}"] }, service: s${extra} }]`,
  ].join("\n");
}

describe("SIGHUP", () => {
  it("reloads a valid file and keeps serving through an invalid one", async () => {
    const up = await startUpstream((req, res) => res.end(`up ${req.url}`));
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-sighup-"));
    const file = join(dir, "gatehouse.yaml");
    await writeFile(file, config(up.url, "/old"));
    const child = spawn(process.execPath, [cli, "start", "-c", file], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr.on("data", (chunk) => {
      err += chunk;
    });
    const waitFor = async (text: () => string, pattern: RegExp) => {
      for (let i = 0; i < 500 && !pattern.test(text()); i++)
        await new Promise((r) => setTimeout(r, 10));
      assert.match(text(), pattern);
    };
    try {
      await waitFor(() => out, /proxy listening on 127\.0\.0\.1:(\d+)/);
      const port = /proxy listening on 127\.0\.0\.1:(\d+)/.exec(out)![1];
      const get = async (path: string) => {
        const res = await request(`http://127.0.0.1:${port}${path}`);
        return `${res.statusCode} ${await res.body.text()}`;
      };
      assert.equal(await get("/old"), "200 up /old");

      await writeFile(file, config(up.url, "/new"));
      child.kill("SIGHUP");
      await waitFor(() => out, /SIGHUP: reloaded/);
      assert.equal(await get("/new"), "200 up /new");
      assert.match(await get("/old"), /^404 /);

      await writeFile(file, config(up.url, "/newer", ", priority: high"));
      child.kill("SIGHUP");
      await waitFor(() => out, /gatehouse\.yaml:7:\d+ routes\[0\]\.priority/);
      assert.equal(await get("/new"), "200 up /new", "the last good config keeps serving");
      const refused = out
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => line.level === "error");
      assert.equal(refused?.signal, "SIGHUP");
      assert.equal(refused?.config, file);
      assert.match(String(refused?.msg), /kept the running config/);
      const problems = refused?.problems as string[];
      assert.equal(problems.length, 1);
      assert.match(problems[0]!, /gatehouse\.yaml:7:\d+ routes\[0\]\.priority: /);
      assert.equal(err, "", "nothing on stderr: the process log is on stdout");

      const statusPort = /"msg":"status listening on 127\.0\.0\.1:(\d+)"/.exec(out)![1];
      const status = (await (
        await request(`http://127.0.0.1:${statusPort}/status`)
      ).body.json()) as {
        config: { version: number };
        lastReload: { result: string; problems: number };
      };
      assert.equal(status.config.version, 2, "the one good reload");
      assert.equal(status.lastReload.result, "failure");
      assert.equal(status.lastReload.problems, 1);
    } finally {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      await up.close();
    }
  });
});
