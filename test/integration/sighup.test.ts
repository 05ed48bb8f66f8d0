// SIGHUP on the real CLI: a valid edited file is applied without a restart; an invalid
// one is reported at FILE:LINE:COL and the running config keeps serving.
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
      await waitFor(() => err, /gatehouse\.yaml:5:\d+ routes\[0\]\.priority/);
      assert.equal(await get("/new"), "200 up /new", "the last good config keeps serving");
    } finally {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      await up.close();
    }
  });
});
