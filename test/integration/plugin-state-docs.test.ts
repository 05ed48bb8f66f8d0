// The per-request state plugin and the "plugins from code" script of docs/plugins.md, run
// as printed (imports pointed at this checkout, a free port, a real upstream): the script
// starts a gateway that knows the plugin, and a request comes back stamped by it.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { request } from "undici";
import { exited, freePort } from "../helpers/child-process.ts";
import { until } from "../helpers/until.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const docs = await readFile(join(root, "docs/plugins.md"), "utf8");
const section = docs.slice(docs.indexOf("### Per-request state"), docs.indexOf("## Consumers"));
const [plugin, script] = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => {
  const text = match[1]!;
  return { name: /^\/\/ (\S+)\n/.exec(text)![1]!, text };
});

/** The doc's imports of the package and zod, pointed at this checkout's. */
const local = (text: string) =>
  text
    .replace('"gatehouse-gateway"', JSON.stringify(pathToFileURL(join(root, "src/index.ts")).href))
    .replace('"zod"', JSON.stringify(pathToFileURL(join(root, "node_modules/zod/index.js")).href));

describe("docs/plugins.md: per-request state, and plugins given from code", () => {
  let dir: string;
  let up: Upstream;
  let child: ChildProcess | undefined;
  let output = "";
  let port: number;

  before(async () => {
    assert.ok(plugin && script, "the section shows the plugin and the script");
    dir = await mkdtemp(join(tmpdir(), "gatehouse-state-docs-"));
    up = await startUpstream(echo);
    port = await freePort();
    await mkdir(dirname(join(dir, plugin.name)), { recursive: true });
    await writeFile(join(dir, plugin.name), local(plugin.text));
    const started = local(script.text)
      .replace("port: 8080", `port: ${port}`)
      .replace("http://127.0.0.1:9001", up.url);
    assert.ok(!started.includes("8080") && !started.includes(":9001"), started);
    await writeFile(join(dir, script.name), started);
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGKILL");
      await exited(child);
    }
    await up?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("starts the gateway with the plugin, which stamps the response for the request's user", async () => {
    child = spawn(process.execPath, [join(dir, script.name)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    await until(
      () => {
        if (child!.exitCode !== null) assert.fail(`the script exited:\n${output}`);
        return output.includes(`listening on ${port}`);
      },
      "the gateway to listen",
      20_000,
    );
    const alice = await request(`http://127.0.0.1:${port}/orders/1`, {
      headers: { "x-user": "alice" },
    });
    await alice.body.dump();
    assert.equal(alice.statusCode, 200);
    assert.equal(alice.headers["x-served-for"], "alice");
    const nobody = await request(`http://127.0.0.1:${port}/orders/2`);
    await nobody.body.dump();
    assert.equal(nobody.headers["x-served-for"], "anonymous", "a request's state is its own");
  });
});
