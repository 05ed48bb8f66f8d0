// The custom plugin of docs/plugins.md, done the way the doc tells a user: the doc's setup
// commands in a fresh folder (with this checkout, packed, as the gatehouse-gateway package),
// the plugin file and the config as printed, the doc's `npx gatehouse start` from that
// folder, and the doc's requests: a known tenant is passed on, another is refused.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { exited, freePort } from "../helpers/child-process.ts";
import { packCheckout, userShellEnv } from "../helpers/packed-package.ts";
import { until } from "../helpers/until.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const docs = await readFile(join(root, "docs/plugins.md"), "utf8");
const section = docs.slice(docs.indexOf("## A plugin of your own"), docs.indexOf("## Consumers"));

/** The fenced blocks of the section in `language`, in order. */
function blocks(language: string): string[] {
  const fence = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, "g");
  return [...section.matchAll(fence)].map((match) => match[1]!);
}

/** A block that starts with a comment naming its file: that name and the whole text. */
function namedFile(text: string): { name: string; text: string } {
  const name = /^(?:\/\/|#) (\S+)\n/.exec(text)?.[1];
  assert.ok(name, `the block names its file on its first line:\n${text}`);
  return { name, text };
}

describe("docs/plugins.md: a plugin of your own, from a fresh folder", () => {
  const [setup, start] = blocks("sh");
  const plugin = namedFile(blocks("ts")[0]!);
  const config = namedFile(blocks("yaml").find((block) => block.includes("pluginModules"))!);
  let parent: string;
  let project: string;
  let up: Upstream;
  let gateway: ChildProcess | undefined;
  let output = "";
  let port: number;

  before(async () => {
    assert.ok(setup && start, "the section shows the setup and the commands to run it");
    parent = await mkdtemp(join(tmpdir(), "gatehouse-user-"));
    const tarball = await packCheckout(parent);
    // The doc's commands, as a script; the package comes from this checkout, not the registry.
    const install = "npm install gatehouse-gateway zod";
    assert.ok(setup.includes(install), `the setup installs the package and zod: ${install}`);
    const script = setup.replace(
      install,
      `npm install --prefer-offline --no-audit --no-fund ${tarball} zod`,
    );
    await run("sh", ["-ec", script], { cwd: parent, env: userShellEnv(), timeout: 90_000 });
    project = join(parent, /^mkdir (\S+)/m.exec(setup)![1]!);
    const manifest = JSON.parse(await readFile(join(project, "package.json"), "utf8"));
    assert.equal(manifest.type, "module");

    up = await startUpstream(echo);
    port = await freePort();
    await mkdir(dirname(join(project, plugin.name)), { recursive: true });
    await writeFile(join(project, plugin.name), plugin.text);
    // As printed, but on a free loopback port and with a real upstream behind it.
    const local = config.text
      .replace("listen: [{ port: 8080 }]", `listen: [{ host: 127.0.0.1, port: ${port} }]`)
      .replace("http://127.0.0.1:9001", up.url);
    assert.ok(!local.includes("8080") && !local.includes(":9001"), local);
    await writeFile(join(project, config.name), local);
  });

  after(async () => {
    if (gateway?.pid !== undefined && gateway.exitCode === null) {
      process.kill(-gateway.pid, "SIGTERM"); // npx and the gateway under it
      await exited(gateway);
    }
    await up?.close();
    if (parent) await rm(parent, { recursive: true, force: true });
  });

  it("starts with the doc's command, passes a known tenant on and refuses another", async () => {
    const [command, ...requests] = start!.trim().split("\n");
    assert.match(command!, /^npx gatehouse start /);
    gateway = spawn("sh", ["-c", command!], {
      cwd: project,
      env: userShellEnv(),
      detached: true, // its own process group, so stopping it stops npx's child too
      stdio: ["ignore", "pipe", "pipe"],
    });
    gateway.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    gateway.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    await until(
      () => {
        if (gateway!.exitCode !== null) assert.fail(`gatehouse exited:\n${output}`);
        return output.includes(`proxy listening on 127.0.0.1:${port}`);
      },
      "the gateway to listen",
      20_000,
    );

    assert.equal(requests.length, 2, "one request passed on, one refused");
    const answers = [];
    for (const line of requests) {
      const curl = line.replace("127.0.0.1:8080", `127.0.0.1:${port}`).split(" #")[0]!;
      const { stdout } = await run("sh", ["-c", curl], { timeout: 10_000 });
      const [head, body] = stdout.split("\r\n\r\n");
      const expected = /# (\d{3})\b:? ?(.*)$/.exec(line);
      assert.ok(expected, `the doc says what ${line} answers`);
      answers.push({ status: /^HTTP\/1\.1 (\d{3})/.exec(head!)?.[1], body, expected });
    }
    const [passed, refused] = answers;
    assert.equal(passed!.status, passed!.expected[1]);
    assert.equal(passed!.status, "200");
    const seen = JSON.parse(passed!.body!) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, "/orders/1");
    assert.equal(seen.headers["x-tenant-verified"], "acme");
    assert.match(passed!.expected[2]!, /x-tenant-verified: acme/);

    assert.equal(refused!.status, refused!.expected[1]);
    assert.equal(refused!.status, "403");
    assert.deepEqual(JSON.parse(refused!.body!), JSON.parse(refused!.expected[2]!));
    assert.deepEqual(JSON.parse(refused!.body!), { error: "unknown tenant" });
    assert.equal(up.requests.length, 1, "the refused request never reached the upstream");
  });

  it("is under 30 lines", () => {
    assert.ok(plugin.text.trimEnd().split("\n").length < 30);
  });
});
