// Hot reload from the config file, with real files, a real gateway and a real upstream:
// in-place writes, atomic renames and Kubernetes ConfigMap symlink swaps are all picked
// up; an invalid file is refused with FILE:LINE:COL in the process log while the old
// config keeps serving; an unchanged file is not reloaded; a burst of writes makes one
// reload; a changed gateway: section is flagged as needing a restart. Tests wait on the
// provider's reload events (bounded), never on fixed sleeps.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import type { GatehouseConfig } from "../../src/config/schema/index.ts";
import { Gateway } from "../../src/gateway.ts";
import { FileProvider, type ReloadEvent } from "../../src/providers/file.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";
import { type LogFile, tempLogFile } from "../helpers/log-file.ts";
import { nextReload } from "../helpers/reload-events.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const cli = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

interface Options {
  /** Where the process log goes (`stdout` or a file); none is written without it. */
  log?: string;
  debounce?: string;
  watch?: boolean;
  shutdownTimeout?: string;
  route?: string;
}

/** A config whose one route serves `path`; line 9 is the route (for FILE:LINE:COL checks). */
function config(upstream: string, path: string, options: Options = {}): string {
  return [
    "gateway:",
    "  listen: [{ host: 127.0.0.1, port: 0 }]",
    `  shutdownTimeout: ${options.shutdownTimeout ?? "1s"}`,
    "  status: { port: 0 }",
    `  reload: { watch: ${options.watch ?? true}, debounce: ${options.debounce ?? "50ms"} }`,
    "  accessLog: { enabled: false }",
    options.log
      ? `  log: { level: info, destination: "${options.log}" }`
      : "  log: { level: silent }",
    `services: [{ name: s, targets: [{ url: "${upstream}" }] }]`,
    `routes: [{ name: r, match: { paths: ["${path}"] }, service: s${options.route ?? ""} }]`,
    "",
  ].join("\n");
}

interface Running {
  gateway: Gateway;
  provider: FileProvider;
  get(path: string): Promise<string>;
  version(): Promise<number>;
  /** The next reload event that `match` accepts; subscribe before causing it. */
  next(match: (event: ReloadEvent) => boolean, what: string): Promise<ReloadEvent>;
  /** Every reload event so far. */
  events: ReloadEvent[];
  close(): Promise<void>;
}

/** Starts a gateway on `file` as `gatehouse start` does, with its file provider watching. */
async function run(
  file: string,
  load?: (file: string) => Promise<GatehouseConfig>,
): Promise<Running> {
  const startup = await validateConfigFile(file);
  const gateway = new Gateway(startup);
  await gateway.start();
  const provider = new FileProvider({ file, control: gateway.control, startup, load });
  const events: ReloadEvent[] = [];
  provider.on("reload", (event) => events.push(event));
  const { proxy, status } = gateway.addresses();
  const running: Running = {
    gateway,
    provider,
    events,
    async get(path) {
      const res = await request(`http://127.0.0.1:${proxy[0]!.port}${path}`);
      return `${res.statusCode} ${await res.body.text()}`;
    },
    async version() {
      const res = await request(`http://127.0.0.1:${status!.port}/status`);
      return ((await res.body.json()) as { config: { version: number } }).config.version;
    },
    next: (match, what) => nextReload(provider, match, what, events),
    async close() {
      provider.close();
      await gateway.stop();
    },
  };
  if (startup.gateway.reload.watch) {
    // Watching begins with one look at the file (nothing changed yet): wait it out, so each
    // test sees only the events it causes.
    const first = running.next(() => true, "the look taken when watching begins");
    provider.watch();
    assert.equal((await first).result, "unchanged");
    events.length = 0;
  }
  return running;
}

const applied = (event: ReloadEvent) => event.result === "applied";
const refused = (event: ReloadEvent) => event.result === "refused";
const unchanged = (event: ReloadEvent) => event.result === "unchanged";

describe("file provider: hot reload", () => {
  let up: Upstream;
  let dir: string;
  let log: LogFile;
  before(async () => {
    up = await startUpstream((req, res) => res.end(`up ${req.url}`));
    dir = await mkdtemp(join(tmpdir(), "gatehouse-reload-"));
    log = await tempLogFile();
  });
  after(async () => {
    await up.close();
    await log.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it("picks up a file written in place", async () => {
    const file = join(dir, "in-place.yaml");
    await writeFile(file, config(up.url, "/old"));
    const gw = await run(file);
    try {
      assert.equal(await gw.get("/old"), "200 up /old");
      const reloaded = gw.next(applied, "the in-place write");
      await writeFile(file, config(up.url, "/new")); // truncates and writes the same inode
      const event = await reloaded;
      assert.equal(event.reason, "watch");
      assert.equal(event.result === "applied" && event.version, 2);
      assert.equal(await gw.get("/new"), "200 up /new");
      assert.match(await gw.get("/old"), /^404 /);
      assert.equal(await gw.version(), 2);
    } finally {
      await gw.close();
    }
  });

  it("picks up a file renamed over the old one (atomic save)", async () => {
    const file = join(dir, "atomic.yaml");
    await writeFile(file, config(up.url, "/old"));
    const gw = await run(file);
    try {
      const reloaded = gw.next(applied, "the rename");
      const temp = join(dir, ".atomic.yaml.tmp");
      await writeFile(temp, config(up.url, "/renamed"));
      await rename(temp, file);
      await reloaded;
      assert.equal(await gw.get("/renamed"), "200 up /renamed");
      // The watch follows the name, not the replaced inode: a second save is seen too.
      const again = gw.next(applied, "the second rename");
      await writeFile(temp, config(up.url, "/again"));
      await rename(temp, file);
      await again;
      assert.equal(await gw.get("/again"), "200 up /again");
      assert.equal(await gw.version(), 3);
    } finally {
      await gw.close();
    }
  });

  it("picks up a Kubernetes ConfigMap update (the ..data symlink swapped)", async () => {
    // The kubelet's layout: config.yaml -> ..data/config.yaml, ..data -> ..<timestamp>/.
    const mount = join(dir, "configmap");
    await mkdir(join(mount, "..2026_11_23_00_00_01.1"), { recursive: true });
    await writeFile(join(mount, "..2026_11_23_00_00_01.1", "config.yaml"), config(up.url, "/v1"));
    await symlink("..2026_11_23_00_00_01.1", join(mount, "..data"));
    await symlink("..data/config.yaml", join(mount, "config.yaml"));
    const gw = await run(join(mount, "config.yaml"));
    const swap = async (generation: string, path: string) => {
      await mkdir(join(mount, generation));
      await writeFile(join(mount, generation, "config.yaml"), config(up.url, path));
      await symlink(generation, join(mount, "..data_tmp"));
      await rename(join(mount, "..data_tmp"), join(mount, "..data"));
    };
    try {
      assert.equal(await gw.get("/v1"), "200 up /v1");
      const first = gw.next(applied, "the first ConfigMap update");
      await swap("..2026_11_23_00_00_02.2", "/v2");
      await rm(join(mount, "..2026_11_23_00_00_01.1"), { recursive: true });
      await first;
      assert.equal(await gw.get("/v2"), "200 up /v2");
      // The old generation's directory is gone; the next update is still seen.
      const second = gw.next(applied, "the second ConfigMap update");
      await swap("..2026_11_23_00_00_03.3", "/v3");
      await second;
      assert.equal(await gw.get("/v3"), "200 up /v3");
      assert.match(await gw.get("/v2"), /^404 /);
    } finally {
      await gw.close();
    }
  });

  it("refuses invalid YAML and an invalid schema with FILE:LINE:COL; the old config serves", async () => {
    const file = join(dir, "invalid.yaml");
    await writeFile(file, config(up.url, "/good", { log: log.path }));
    const gw = await run(file);
    try {
      const syntax = gw.next(refused, "the YAML syntax error");
      await writeFile(file, `${config(up.url, "/bad", { log: log.path })}routes: [\n`);
      const yamlProblems = ((await syntax) as { problems: string[] }).problems;
      assert.equal(yamlProblems.length, 1);
      assert.match(yamlProblems[0]!, /invalid\.yaml:\d+:\d+ YAML syntax/);
      assert.equal(await gw.get("/good"), "200 up /good", "the last good config keeps serving");

      const schema = gw.next(refused, "the schema error");
      await writeFile(file, config(up.url, "/bad", { log: log.path, route: ", priority: high" }));
      const schemaProblems = ((await schema) as { problems: string[] }).problems;
      assert.equal(schemaProblems.length, 1);
      assert.match(schemaProblems[0]!, /invalid\.yaml:9:\d+ routes\[0\]\.priority: /);
      assert.equal(await gw.get("/good"), "200 up /good");
      assert.match(await gw.get("/bad"), /^404 /);
      assert.equal(await gw.version(), 1);

      const errors = (await log.lines()).filter((line) => line.level === "error");
      assert.equal(errors.length, 2, "each bad file reported once");
      for (const [line, problems] of [
        [errors[0]!, yamlProblems],
        [errors[1]!, schemaProblems],
      ] as const) {
        assert.equal(line.reason, "watch");
        assert.equal(line.config, file);
        assert.match(line.msg, /config file changed: kept the running config/);
        assert.deepEqual(line.problems, problems);
      }

      // Fixed: applied at once.
      const fixed = gw.next(applied, "the fixed file");
      await writeFile(file, config(up.url, "/fixed", { log: log.path }));
      await fixed;
      assert.equal(await gw.get("/fixed"), "200 up /fixed");
    } finally {
      await gw.close();
    }
  });

  it("does not reload a file touched or rewritten with the same content", async () => {
    const file = join(dir, "unchanged.yaml");
    const text = config(up.url, "/same");
    await writeFile(file, text);
    const gw = await run(file);
    try {
      const touched = gw.next(unchanged, "the touch");
      const now = new Date();
      await utimes(file, now, now);
      await touched;
      const rewritten = gw.next(unchanged, "the same content");
      await writeFile(file, text);
      await rewritten;
      // Same config, different bytes (a comment): validated, found equal, not applied.
      const commented = gw.next(unchanged, "the comment");
      await writeFile(file, `# a comment\n${text}`);
      await commented;
      assert.equal(await gw.version(), 1);
      assert.deepEqual(
        gw.events.filter((event) => event.result !== "unchanged"),
        [],
      );
    } finally {
      await gw.close();
    }
  });

  it("debounces a burst of writes into one reload", async () => {
    const file = join(dir, "burst.yaml");
    await writeFile(file, config(up.url, "/start", { debounce: "300ms" }));
    const gw = await run(file);
    try {
      const reloaded = gw.next(applied, "the burst");
      for (let i = 0; i < 10; i++)
        writeFileSync(file, config(up.url, `/b${i}`, { debounce: "300ms" }));
      await reloaded;
      // Quiet for longer than the debounce: nothing more comes.
      const more = gw.next(() => true, "another reload");
      await assert.rejects(
        Promise.race([
          more,
          new Promise((_, reject) => setTimeout(() => reject(new Error("quiet")), 900)),
        ]),
        /quiet/,
      );
      assert.equal(await gw.get("/b9"), "200 up /b9");
      assert.equal(await gw.version(), 2);
      assert.equal(gw.events.filter(applied).length, 1);
    } finally {
      await gw.close();
    }
  });

  it("applies the dynamic part and warns that a changed gateway: section needs a restart", async () => {
    const file = join(dir, "static.yaml");
    await writeFile(file, config(up.url, "/old", { log: log.path }));
    const gw = await run(file);
    try {
      const reloaded = gw.next(applied, "the reload");
      await writeFile(file, config(up.url, "/new", { log: log.path, shutdownTimeout: "5s" }));
      await reloaded;
      assert.equal(await gw.get("/new"), "200 up /new");
      const warning = (await log.lines()).find((line) => /gateway: section changed/.test(line.msg));
      assert.equal(warning?.level, "warn");
      assert.deepEqual(warning?.changed, ["gateway.shutdownTimeout"]);
    } finally {
      await gw.close();
    }
  });

  it("ignores other files in the same directory (a log file next to the config)", async () => {
    const file = join(dir, "neighbour.yaml");
    await writeFile(file, config(up.url, "/old"));
    const gw = await run(file);
    try {
      for (let i = 0; i < 5; i++) await writeFile(join(dir, "neighbour.log"), `line ${i}\n`);
      // Three debounce periods with nothing: the neighbour's writes were not taken for ours.
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.deepEqual(gw.events, []);
    } finally {
      await gw.close();
    }
  });

  it("waits out a deleted file, then applies it when it is back", async () => {
    const file = join(dir, "deleted.yaml");
    await writeFile(file, config(up.url, "/old"));
    const gw = await run(file);
    try {
      const missing = gw.next((event) => event.result === "missing", "the deletion");
      await rm(file);
      await missing;
      assert.equal(await gw.get("/old"), "200 up /old", "the running config keeps serving");
      const back = gw.next(applied, "the file coming back");
      await writeFile(file, config(up.url, "/back"));
      await back;
      assert.equal(await gw.get("/back"), "200 up /back");
      assert.equal(gw.events.filter(refused).length, 0, "a missing file is not a refused config");
    } finally {
      await gw.close();
    }
  });

  it("with watch: false, only an explicit reload (SIGHUP) applies a change", async () => {
    const file = join(dir, "unwatched.yaml");
    await writeFile(file, config(up.url, "/old", { watch: false }));
    const gw = await run(file);
    try {
      await writeFile(file, config(up.url, "/new", { watch: false }));
      // Three debounce periods with nothing: the change was not seen.
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.deepEqual(gw.events, []);
      assert.equal(await gw.get("/old"), "200 up /old");
      const event = await gw.provider.reload("SIGHUP");
      assert.equal(event.result, "applied");
      assert.equal(await gw.get("/new"), "200 up /new");
      // SIGHUP again with nothing changed: nothing applied, the version stays.
      assert.equal((await gw.provider.reload("SIGHUP")).result, "unchanged");
      assert.equal(await gw.version(), 2);
    } finally {
      await gw.close();
    }
  });

  it("reads again a file saved while its last version was being loaded", async () => {
    // The load reads the file itself, after the bytes that decide "changed or not" were
    // read: a save in between must not leave the next look thinking nothing changed.
    const file = join(dir, "saved-during-load.yaml");
    const good = config(up.url, "/good", { watch: false });
    await writeFile(file, good);
    let duringLoad: (() => Promise<void>) | undefined;
    const gw = await run(file, async (name) => {
      await duringLoad?.();
      return validateConfigFile(name);
    });
    try {
      duringLoad = () => writeFile(file, config(up.url, "/bad", { route: ", priority: high" }));
      assert.equal((await gw.provider.reload("watch")).result, "refused");
      assert.ok(gw.gateway.control.lastRefusal, "the bad bytes were loaded and refused");
      duringLoad = undefined;
      await writeFile(file, good);
      const event = await gw.provider.reload("watch");
      assert.equal(event.result, "unchanged");
      assert.equal(gw.gateway.control.lastRefusal, undefined, "the good file ended the refusal");
    } finally {
      await gw.close();
    }
  });

  it("gatehouse start watches its config file", async () => {
    const file = join(dir, "cli.yaml");
    await writeFile(file, config(up.url, "/old", { log: "stdout" }));
    const child = spawn(process.execPath, [cli, "start", "-c", file], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    const waitFor = async (pattern: RegExp) => {
      const deadline = Date.now() + 10_000;
      while (!pattern.test(out) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      assert.match(out, pattern);
    };
    try {
      await waitFor(/proxy listening on 127\.0\.0\.1:(\d+)/);
      const port = /proxy listening on 127\.0\.0\.1:(\d+)/.exec(out)![1];
      await writeFile(file, config(up.url, "/new", { log: "stdout" }));
      await waitFor(/config file changed: reloaded/);
      const res = await request(`http://127.0.0.1:${port}/new`);
      assert.equal(`${res.statusCode} ${await res.body.text()}`, "200 up /new");
    } finally {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    }
  });
});
