// docs/registry.md's two-service example, run as the doc says: its files are the ones in
// examples/registry/ (the doc shows them whole), the doc's three commands start the real
// gateway (`npx gatehouse start`) and both services as processes of their own, and each
// curl the doc shows answers what the doc prints, before and after inventory is stopped
// with Ctrl-C (SIGINT) and started again. Only the ports differ: the doc's variables move
// them to free ones.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { exited, freePort } from "../helpers/child-process.ts";
import { until } from "../helpers/until.ts";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const doc = await readFile(join(root, "docs/registry.md"), "utf8");
const sdkSection = doc.slice(doc.indexOf("## The SDK"), doc.indexOf("## Example:"));
const section = doc.slice(doc.indexOf("## Example: two services behind the gateway"));

/** The fenced blocks of `text` in `language`, in order. */
function blocks(text: string, language: string): string[] {
  const fence = new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, "g");
  return [...text.matchAll(fence)].map((match) => match[1]!);
}

/** A console block: each `$ command` with the lines printed after it. */
function transcript(block: string): { command: string; output: string }[] {
  return block
    .split(/^\$ /m)
    .slice(1)
    .map((entry) => {
      const newline = entry.indexOf("\n");
      return { command: entry.slice(0, newline), output: entry.slice(newline + 1).trimEnd() };
    });
}

/** A process started from one of the doc's lines, in a process group of its own. */
interface Started {
  child: ChildProcess;
  output: () => string;
}

describe("docs/registry.md: the two-service example", () => {
  const files = [...blocks(section, "yaml"), ...blocks(section, "ts")];
  const [commands] = blocks(section, "sh");
  const [working, withoutInventory, again] = blocks(section, "console").map(transcript);
  const started: Started[] = [];
  const ports = { proxy: 0, status: 0, registry: 0 };
  // The shell finds Node 24 (this one) as `node`, and `npx gatehouse` is this checkout's.
  const env = {
    ...process.env,
    PATH: [dirname(process.execPath), join(root, "node_modules/.bin"), process.env.PATH].join(
      delimiter,
    ),
  };

  /** Runs one of the doc's command lines as a shell in a terminal would. */
  function start(line: string): Started {
    const child = spawn(
      "sh",
      ["-c", line.replace("127.0.0.1:9903", `127.0.0.1:${ports.registry}`)],
      {
        cwd: root,
        env: {
          ...env,
          GATEHOUSE_PORT: String(ports.proxy),
          GATEHOUSE_STATUS_PORT: String(ports.status),
          GATEHOUSE_REGISTRY_PORT: String(ports.registry),
        },
        detached: true, // a group of its own, as a terminal's job: Ctrl-C reaches all of it
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
    });
    const entry = { child, output: () => output };
    started.push(entry);
    return entry;
  }

  async function startService(line: string, name: string): Promise<Started> {
    const service = start(line);
    await until(
      () => {
        if (service.child.exitCode !== null) assert.fail(`${name} exited:\n${service.output()}`);
        return service.output().includes(`${name}: registered `);
      },
      `${name} to register`,
      20_000,
    );
    // As the doc shows it: the instance's id and URL.
    assert.match(
      service.output(),
      new RegExp(
        `^${name}: registered 127\\.0\\.0\\.1-(\\d+) \\(http://127\\.0\\.0\\.1:\\1\\)$`,
        "m",
      ),
    );
    return service;
  }

  /** Runs a transcript's command; resolves with what it printed. */
  async function curl(command: string): Promise<string> {
    const local = command
      .replace("127.0.0.1:8080", `127.0.0.1:${ports.proxy}`)
      .replace("127.0.0.1:9903", `127.0.0.1:${ports.registry}`);
    const { stdout } = await run("sh", ["-c", local], { timeout: 10_000 });
    return stdout.trimEnd();
  }

  async function answersAsShown(entries: { command: string; output: string }[]) {
    for (const { command, output } of entries) assert.equal(await curl(command), output, command);
  }

  before(async () => {
    ports.proxy = await freePort();
    ports.status = await freePort();
    ports.registry = await freePort();
  });

  after(async () => {
    for (const { child } of started.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
      process.kill(-child.pid, "SIGTERM");
      const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 5_000);
      await exited(child);
      clearTimeout(timer);
    }
  });

  it("shows the files of examples/registry/ as they are", async () => {
    assert.equal(files.length, 3, "the config and the two services");
    for (const text of files) {
      const name = /^(?:\/\/|#) (examples\/registry\/\S+)\n/.exec(text)?.[1];
      assert.ok(name, `the block names its file on its first line:\n${text.slice(0, 80)}`);
      assert.equal(text, await readFile(join(root, name), "utf8"), `${name} as the doc shows it`);
    }
  });

  it("shows SDK calls that the example makes", () => {
    const example = files.join("\n");
    for (const snippet of blocks(sdkSection, "ts"))
      for (const line of snippet.trim().split("\n"))
        assert.ok(example.includes(line.trim()), `the example has: ${line}`);
  });

  it("starts as the doc says and answers each curl as shown, through Ctrl-C and a restart", async () => {
    const lines = commands!.trim().split("\n");
    assert.deepEqual(
      lines.map((line) => line.split(" ").at(-1)),
      [
        "examples/registry/gatehouse.yaml",
        "examples/registry/inventory.ts",
        "examples/registry/orders.ts",
      ],
    );
    const gateway = start(lines[0]!);
    await until(
      () => {
        if (gateway.child.exitCode !== null) assert.fail(`gatehouse exited:\n${gateway.output()}`);
        return gateway.output().includes(`registry listening on 127.0.0.1:${ports.registry}`);
      },
      "the gateway to listen",
      20_000,
    );
    assert.ok(gateway.output().includes(`proxy listening on 127.0.0.1:${ports.proxy}`));
    const inventory = await startService(lines[1]!, "inventory");
    await startService(lines[2]!, "orders");

    assert.ok(working && working.length >= 3, "the doc shows the services answering");
    await answersAsShown(working);

    // Ctrl-C in inventory's terminal: the whole job gets SIGINT.
    process.kill(-inventory.child.pid!, "SIGINT");
    await exited(inventory.child);
    assert.equal(
      inventory.child.signalCode ?? inventory.child.exitCode,
      "SIGINT",
      inventory.output(),
    );
    const [stopped] = withoutInventory!;
    // The delete event reaches the client in orders a moment after the DELETE was answered.
    const deadline = Date.now() + 3_000;
    let answer = await curl(stopped!.command);
    while (answer !== stopped!.output && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      answer = await curl(stopped!.command);
    }
    assert.equal(answer, stopped!.output, stopped!.command);

    await startService(lines[1]!, "inventory");
    await startService(lines[1]!, "inventory");
    await answersAsShown(again!);
    // Both new instances are registered (orders' client balances over them).
    const registry = JSON.parse(
      await curl(`curl -s http://127.0.0.1:9903/registry/services/inventory`),
    );
    assert.equal(registry.instances.length, 2);
  });
});
