// docs/portal.md, as printed: its config (with the service document next to it) starts
// a real gateway in front of real upstreams, and every console example in it (curl and
// jq against the portal and the API, `gatehouse validate` on its bad config) prints what
// the doc says it prints.
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Gateway } from "../../src/gateway.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";
import { freePort } from "../helpers/child-process.ts";
import { runGatehouse } from "../helpers/cli.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const doc = await readFile(join(root, "docs/portal.md"), "utf8");
const yaml = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!);
/** Each console example: the command after `$ `, and the lines it prints. */
const examples = [...doc.matchAll(/```console\n([\s\S]*?)```/g)].flatMap((match) => {
  const found: { command: string; output: string[] }[] = [];
  for (const line of match[1]!.trimEnd().split("\n")) {
    if (line.startsWith("$ ")) found.push({ command: line.slice(2), output: [] });
    else found.at(-1)!.output.push(line);
  }
  return found;
});

/** A tool the examples run; missing is a failure that says how to install it. */
function requireTool(name: string): void {
  if (spawnSync("sh", ["-c", `command -v ${name}`]).status !== 0)
    throw new Error(`${name} not found: install it with apt-get install -y ${name}`);
}

function sh(command: string, cwd: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile("sh", ["-c", command], { cwd, timeout: 10_000 }, (error, stdout, stderr) =>
      error && !stdout
        ? reject(new Error(`${command}: ${stderr || error.message}`))
        : resolve(stdout),
    ),
  );
}

describe("docs/portal.md", () => {
  let dir: string;
  let users: Upstream;
  let orders: Upstream;
  let gateway: Gateway;
  let port: number;

  before(async () => {
    requireTool("curl");
    requireTool("jq");
    dir = await mkdtemp(join(tmpdir(), "gatehouse-portal-docs-"));
    users = await startUpstream((req, res) => {
      const id = /^\/users\/([^/?]+)/.exec(req.url ?? "")?.[1];
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id, name: "Ada" }));
    });
    orders = await startUpstream(echo);
    port = await freePort();
    const named = (name: string) => yaml.find((text) => text.startsWith(`# ${name}\n`))!;
    await writeFile(join(dir, "users-openapi.yaml"), named("users-openapi.yaml"));
    await writeFile(join(dir, "bad.yaml"), named("bad.yaml"));
    await writeFile(
      join(dir, "gatehouse.yaml"),
      yaml[0]!
        .replace("port: 8080", `port: ${port}`)
        .replace("127.0.0.1:9001", `127.0.0.1:${users.port}`)
        .replace("127.0.0.1:9002", `127.0.0.1:${orders.port}`)
        .replace(
          "gateway:\n",
          "gateway:\n  accessLog: { enabled: false }\n  log: { level: silent }\n",
        ),
    );
    gateway = new Gateway(await validateConfigFile(join(dir, "gatehouse.yaml"), {}));
    await gateway.start();
  });
  after(async () => {
    await gateway?.stop();
    await users?.close();
    await orders?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("has the examples this test runs", () => {
    assert.equal(yaml.length, 3);
    assert.equal(examples.length, 10);
  });

  it("prints what each console example shows", async () => {
    for (const { command, output } of examples) {
      let printed: string;
      if (command.startsWith("gatehouse ")) {
        const run = await runGatehouse(command.split(" ").slice(1), { cwd: dir });
        printed = run.stdout + run.stderr;
      } else printed = await sh(command.replaceAll("127.0.0.1:8080", `127.0.0.1:${port}`), dir);
      assert.deepEqual(printed.replaceAll("\r", "").trimEnd().split("\n"), output, command);
    }
  });
});
