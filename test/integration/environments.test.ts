// Environments through the real `gatehouse` command: `validate --env NAME` (or
// GATEHOUSE_ENV) checks the base file merged with its overlay and names the file each
// problem was written in; `start --env NAME` serves the merged config and reloads when
// either file changes.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { type CliRun, cliPath as cli, runGatehouse } from "../helpers/cli.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

/** Runs the CLI to completion (bounded), with `env` added and no inherited GATEHOUSE_ENV. */
function gatehouse(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runGatehouse(args, { env: { GATEHOUSE_ENV: "", ...env } });
}

/** The base file: one service, one route at /base; line 8 is the service. */
function base(upstream: string, options: { log?: boolean; timeout?: string } = {}): string {
  return [
    "gateway:",
    "  listen: [{ host: 127.0.0.1, port: 0 }]",
    `  shutdownTimeout: ${options.timeout ?? "1s"}`,
    "  reload: { watch: true, debounce: 50ms }",
    "  accessLog: { enabled: false }",
    options.log ? "  log: { level: info, destination: stdout }" : "  log: { level: silent }",
    "services:",
    `  - { name: s, targets: [{ url: "${upstream}" }] }`,
    "routes:",
    "  - { name: base, match: { paths: [/base] }, service: s }",
    "",
  ].join("\n");
}

/** An overlay adding a route at `path`; line 3 is the route's match. */
function overlay(path: string, service = "s"): string {
  return [
    "routes:",
    "  - name: extra",
    `    match: { paths: [${path}] }`,
    `    service: ${service}`,
    "",
  ].join("\n");
}

describe("environments: a base file and an overlay", () => {
  let up: Upstream;
  let dir: string;
  let file: string;
  let production: string;
  before(async () => {
    up = await startUpstream((req, res) => res.end(`up ${req.url}`));
    dir = await mkdtemp(join(tmpdir(), "gatehouse-env-"));
    file = join(dir, "gatehouse.yaml");
    production = join(dir, "gatehouse.production.yaml");
  });
  after(async () => {
    await up.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("validate --env checks the merged config", async () => {
    await writeFile(file, base(up.url));
    await writeFile(production, overlay("/prod"));
    const run = await gatehouse(["validate", "-c", file, "--env", "production"]);
    assert.equal(run.stderr, "");
    assert.equal(run.stdout, `${file} + ${production}: valid\n`);
    assert.equal(run.code, 0);
  });

  it("a problem in the overlay is reported at its line:col in the overlay", async () => {
    await writeFile(file, base(up.url));
    await writeFile(production, overlay("/prod", "nowhere"));
    const run = await gatehouse(["validate", "-c", file, "--env", "production"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`^${quoted(production)}:4:14 routes\\[1\\]\\.service: `));
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
  });

  it("a problem in the base is reported in the base", async () => {
    await writeFile(file, base(up.url, { timeout: "later" }));
    await writeFile(production, overlay("/prod"));
    const run = await gatehouse(["validate", "-c", file, "--env", "production"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`^${quoted(file)}:3:20 gateway\\.shutdownTimeout: `));
    assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
  });

  it("GATEHOUSE_ENV selects the overlay when --env is not given", async () => {
    await writeFile(file, base(up.url));
    await writeFile(production, overlay("/prod", "nowhere"));
    const run = await gatehouse(["validate", "-c", file], { GATEHOUSE_ENV: "production" });
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`^${quoted(production)}:4:14 `));
    // Without an environment the overlay is not read at all.
    const plain = await gatehouse(["validate", "-c", file]);
    assert.equal(plain.stdout, `${file}: valid\n`);
  });

  it("an environment without an overlay file is an error", async () => {
    await writeFile(file, base(up.url));
    const run = await gatehouse(["validate", "-c", file, "--env", "staging"]);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      `${join(dir, "gatehouse.staging.yaml")}:1:1 overlay for environment "staging" not found\n`,
    );
  });

  it("start --env serves the overlay's route and reloads when either file changes", async () => {
    await writeFile(file, base(up.url, { log: true }));
    await writeFile(production, overlay("/prod"));
    const child = spawn(process.execPath, [cli, "start", "-c", file, "--env", "production"], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, GATEHOUSE_ENV: "" },
    });
    const out = collect(child);
    try {
      await waitFor(out, /proxy listening on 127\.0\.0\.1:(\d+)/);
      const port = /proxy listening on 127\.0\.0\.1:(\d+)/.exec(out.text)![1];
      const get = async (path: string) => {
        const res = await request(`http://127.0.0.1:${port}${path}`);
        return `${res.statusCode} ${await res.body.text()}`;
      };
      assert.equal(await get("/prod"), "200 up /prod");
      assert.equal(await get("/base"), "200 up /base");
      await writeFile(production, overlay("/prod2"));
      // Served once a reload read the whole new file (a look taken mid-write is followed
      // by another when the write's events settle).
      await servedWithin(() => get("/prod2"), "200 up /prod2");
      assert.equal(await get("/base"), "200 up /base");
      assert.equal((await get("/prod")).slice(0, 3), "404");
      // The base is still watched: a change there is merged with the overlay again.
      await writeFile(file, base(up.url, { log: true }).replace("/base", "/base2"));
      await servedWithin(() => get("/base2"), "200 up /base2");
      assert.match(out.text, /config file changed: reloaded/);
      assert.equal(await get("/prod2"), "200 up /prod2");
    } finally {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    }
  });
});

function collect(child: ChildProcess): { text: string } {
  const out = { text: "" };
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    out.text += chunk;
  });
  return out;
}

/** Asks (bounded, every 20 ms) until `answer` gives `expected`; fails with the last answer. */
async function servedWithin(answer: () => Promise<string>, expected: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let last = await answer();
  while (last !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    last = await answer();
  }
  assert.equal(last, expected);
}

/** Waits (bounded) until the output matches `pattern`. */
async function waitFor(out: { text: string }, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!pattern.test(out.text) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
  assert.match(out.text, pattern);
}

const quoted = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
