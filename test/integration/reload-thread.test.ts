// Reloads validated in the validation thread, with real files, a real gateway and a real
// upstream: a storm of rewrites with a bad one in it is refused with FILE:LINE:COL while
// requests keep being served; the thread ended mid-reload (as a crash would) costs no
// reload and is started again; and a process whose thread is idle exits on its own.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setImmediate as turn } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { diffConfigs } from "../../src/config/diff.ts";
import { resourceChangesAhead } from "../../src/config/diff-ahead.ts";
import { configOriginOf } from "../../src/config/document.ts";
import { ConfigError } from "../../src/config/load.ts";
import { Gateway } from "../../src/gateway.ts";
import { FileProvider, type ReloadEvent } from "../../src/providers/file.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";
import { ValidationThread } from "../../src/runtime/validation-thread.ts";
import { nextReload } from "../helpers/reload-events.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const routeCount = 50;

/**
 * A config with `routeCount` routes plus `/gen-N`, on line `routeCount + 9`; `bad` puts a
 * word where that route's `priority` number goes.
 */
function config(upstream: string, n: number, bad = false, watch = true): string {
  const routes = Array.from(
    { length: routeCount },
    (_, i) => `  - { name: r${i}, match: { paths: ["/r${i}/*"] }, service: s }`,
  );
  return [
    "gateway:",
    "  listen: [{ host: 127.0.0.1, port: 0 }]",
    "  status: { port: 0 }",
    `  reload: { watch: ${watch}, debounce: 20ms }`,
    "  accessLog: { enabled: false }",
    "  log: { level: silent }",
    `services: [{ name: s, targets: [{ url: "${upstream}" }] }]`,
    "routes:",
    ...routes,
    `  - { name: gen, match: { paths: ["/gen-${n}"] }, service: s, priority: ${bad ? "high" : "1"} }`,
    "",
  ].join("\n");
}

describe("reloads validated off the serving thread", () => {
  let dir: string;
  let up: Upstream;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-reload-thread-"));
    up = await startUpstream();
  });
  after(async () => {
    await up.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function start(name: string, watch = true) {
    const file = join(dir, name);
    await writeFile(file, config(up.url, 0, false, watch));
    const startup = await validateConfigFile(file);
    const gateway = new Gateway(startup);
    await gateway.start();
    const provider = new FileProvider({ file, control: gateway.control, startup });
    const events: ReloadEvent[] = [];
    provider.on("reload", (event) => events.push(event));
    if (watch) {
      const first = nextReload(provider, () => true, "the first look", events, 60_000);
      provider.watch();
      await first;
    }
    await provider.validationThread.whenReady();
    const port = gateway.addresses().proxy[0]!.port;
    const get = async (path: string) =>
      (await request(`http://127.0.0.1:${port}${path}`)).statusCode;
    /** Writes the next config as editors do: beside the file, then renamed over it. */
    const write = async (n: number, bad = false) => {
      await writeFile(`${file}.next`, config(up.url, n, bad, watch));
      await rename(`${file}.next`, file);
    };
    const close = async () => {
      provider.close();
      await gateway.stop();
    };
    return { file, gateway, provider, events, get, write, close };
  }

  it("refuses a bad config in a storm with FILE:LINE:COL and keeps serving", async () => {
    const gw = await start("storm.yaml");
    try {
      const answeredBefore = gw.provider.validationThread.answered;
      const statuses: number[] = [];
      let storming = true;
      // Requests all through the storm, bounded in count and time.
      const load = (async () => {
        const deadline = Date.now() + 60_000;
        while (storming && statuses.length < 5_000 && Date.now() < deadline)
          statuses.push(await gw.get("/r7/x"));
      })();
      const refusedSeen = nextReload(
        gw.provider,
        (e) => e.result === "refused",
        "a refusal",
        gw.events,
        60_000,
      );
      for (let n = 1; n <= 6; n++) {
        await gw.write(n, n === 4);
        // The watcher merges writes closer than its debounce: the bad one is waited for.
        if (n === 4) await refusedSeen;
        else await new Promise((resolve) => setTimeout(resolve, 60));
      }
      const refused = await refusedSeen;
      const problems = refused.result === "refused" ? refused.problems : [];
      assert.ok(
        problems.some(
          (p) => p.startsWith(`${gw.file}:${routeCount + 9}:`) && p.includes("priority"),
        ),
        `located problem expected, got ${JSON.stringify(problems)}`,
      );
      // The storm's last (good) write serves.
      const deadline = Date.now() + 60_000;
      while ((await gw.get("/gen-6")) !== 200) {
        assert.ok(Date.now() < deadline, "the last write was not served within 60 s");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      storming = false;
      await load;
      assert.ok(statuses.length > 0);
      assert.deepEqual(
        statuses.filter((status) => status !== 200),
        [],
        "every request during the storm was served",
      );
      assert.ok(
        gw.provider.validationThread.answered > answeredBefore,
        "the storm's reloads were validated in the thread",
      );
    } finally {
      await gw.close();
    }
  });

  it("keeps reloading when the thread ends mid-reload, and starts it again", async () => {
    // Not watching: the test's SIGHUPs are the only reloads.
    const gw = await start("crash.yaml", false);
    try {
      const thread = gw.provider.validationThread;
      assert.equal(thread.starts, 1);
      await gw.write(1);
      const reload = gw.provider.reload("SIGHUP");
      // End the thread while it owes this reload its answer, as a crash would.
      const deadline = Date.now() + 30_000;
      while (!thread.busy) {
        assert.ok(Date.now() < deadline, "the reload never reached the thread");
        await turn();
      }
      await thread.terminate();
      assert.equal((await reload).result, "applied");
      assert.equal(await gw.get("/gen-1"), 200);
      // A new thread, which validates the next reload.
      await thread.whenReady();
      assert.equal(thread.starts, 2);
      const answered = thread.answered;
      await gw.write(2);
      assert.equal((await gw.provider.reload("SIGHUP")).result, "applied");
      assert.equal(thread.answered, answered + 1);
      assert.equal(await gw.get("/gen-2"), 200);
    } finally {
      await gw.close();
    }
  });

  it("answers with the same located problems as a load on this thread", async () => {
    const file = join(dir, "bad.yaml");
    await writeFile(file, config(up.url, 1, true));
    const thread = new ValidationThread();
    try {
      const inThread = await thread.validate(file, undefined).then(
        () => assert.fail("the bad config validated"),
        (error: unknown) => error,
      );
      const here = await validateConfigFile(file).then(
        () => assert.fail("the bad config validated"),
        (error: unknown) => error,
      );
      assert.ok(inThread instanceof ConfigError && here instanceof ConfigError);
      assert.deepEqual(inThread.problems, here.problems);
    } finally {
      await thread.close();
    }
  });

  it("works out the audit's changes between its last two answers, as the serving thread would", async () => {
    const file = join(dir, "changes.yaml");
    const thread = new ValidationThread();
    try {
      await writeFile(file, config(up.url, 1));
      const first = configOriginOf((await thread.validate(file, undefined)).config)!.document;
      // Route r3 gone, and the route named gen serving /gen-2 instead of /gen-1.
      await writeFile(file, config(up.url, 2).replace(/^ {2}- \{ name: r3,.*\n/m, ""));
      const second = configOriginOf((await thread.validate(file, undefined)).config)!.document;
      const expected = diffConfigs(first, second).resources.map(({ kind, name, change }) => ({
        kind,
        name,
        change,
      }));
      assert.deepEqual(
        expected.map(({ name, change }) => `${name} ${change}`),
        ["gen updated", "r3 deleted"],
      );
      const asked = resourceChangesAhead(first, second);
      assert.ok(asked, "the thread can be asked for them");
      assert.deepEqual(await asked, expected);
      // Only from that document: a change from any other is diffed where it is audited.
      assert.equal(resourceChangesAhead(structuredClone(first), second), undefined);
    } finally {
      await thread.close();
    }
  });

  it("never keeps the process alive", async () => {
    const file = join(dir, "exit.yaml");
    await writeFile(file, config(up.url, 1));
    const module = fileURLToPath(
      new URL("../../src/runtime/validation-thread.ts", import.meta.url),
    );
    const script = [
      `const { ValidationThread } = await import(${JSON.stringify(module)});`,
      "const thread = new ValidationThread();",
      `const { config } = await thread.validate(${JSON.stringify(file)}, undefined);`,
      `console.log("validated", config.routes.length, "routes");`,
    ].join("\n");
    const scriptFile = join(dir, "exit.mjs");
    await writeFile(scriptFile, script);
    const child = spawn(process.execPath, [scriptFile], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const code = await new Promise((resolve) =>
      child.once("exit", (c, signal) => resolve(c ?? signal)),
    );
    clearTimeout(timer);
    assert.equal(out.trim(), `validated ${routeCount + 1} routes`);
    assert.equal(code, 0, "the process ended by itself, the thread idle");
  });
});
