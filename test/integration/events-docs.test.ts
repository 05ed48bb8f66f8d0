// The worked example of docs/events.md, run as printed (its import pointed at this
// checkout): on the embedded transport with PGlite, and on NATS JetStream with PostgreSQL.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { exited } from "../helpers/child-process.ts";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const docs = await readFile(join(root, "docs/events.md"), "utf8");
const example = /```ts\n(\/\/ shop\.ts\n[\s\S]*?)```/.exec(docs)?.[1];
const printed = /It prints:\n\n```\n([\s\S]*?)```/.exec(docs)?.[1];

/** Runs the example in `dir` with `env`; resolves with its exit code and output. */
async function runExample(dir: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [join(dir, "shop.ts")], {
    cwd: dir,
    env: { ...process.env, NATS_URL: "", DATABASE_URL: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  await exited(child);
  clearTimeout(timer);
  return { code: child.exitCode, stdout, stderr };
}

describe("docs/events.md: the worked example", () => {
  let dir: string;
  let nats: NatsServer;
  let database: TestDatabase;

  before(async () => {
    assert.ok(example && printed, "the doc shows the example and what it prints");
    dir = await mkdtemp(join(tmpdir(), "gatehouse-events-docs-"));
    const sdk = pathToFileURL(join(root, "src/sdk/index.ts")).href;
    await writeFile(
      join(dir, "shop.ts"),
      example.replace('"gatehouse-gateway/sdk"', JSON.stringify(sdk)),
    );
    nats = await startNatsServer();
    database = await createTestDatabase();
  });

  after(async () => {
    await nats?.remove();
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** What the doc says it prints, with the order id (a timestamp) as any digits. */
  const expected = () =>
    new RegExp(`^${printed!.replace(/order-\d+/, "order-\\d+").replace(".", "\\.")}$`);

  it("runs on the embedded transport with PGlite in ./data/shop", async () => {
    const { code, stdout, stderr } = await runExample(dir, {});
    assert.equal(code, 0, stderr);
    assert.match(stdout, expected());
  });

  it("runs on NATS JetStream with PostgreSQL", async () => {
    const { code, stdout, stderr } = await runExample(dir, {
      NATS_URL: nats.url,
      DATABASE_URL: database.url,
    });
    assert.equal(code, 0, stderr);
    assert.match(stdout, expected());
  });
});
