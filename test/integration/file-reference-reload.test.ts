// Hot reload of the files a config reads through `${file:PATH}`: a consumer key kept in its
// own file is rotated (written in place, renamed over, swapped as a Kubernetes Secret does)
// without touching the config file, and over real HTTP the new key is let in and the old one
// turned away. A referenced file that goes away is a refused reload, located at the
// reference, while the last good config keeps serving. Tests wait on reload events (bounded).
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the configs hold literal ${file:...}
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { Gateway } from "../../src/gateway.ts";
import { FileProvider, type ReloadEvent } from "../../src/providers/file.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";
import { type LogFile, tempLogFile } from "../helpers/log-file.ts";
import { nextReload } from "../helpers/reload-events.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

/** A config whose one route needs an API key; line 9 holds alice's key reference, if any. */
function config(upstream: string, keyReference: string | undefined, log: string): string {
  return [
    "gateway:",
    "  listen: [{ host: 127.0.0.1, port: 0 }]",
    "  status: { port: 0 }",
    "  reload: { watch: true, debounce: 50ms }",
    "  accessLog: { enabled: false }",
    `  log: { level: info, destination: "${log}" }`,
    `services: [{ name: s, targets: [{ url: "${upstream}" }] }]`,
    'routes: [{ name: r, match: { paths: ["/api"] }, service: s, plugins: [{ name: key-auth }] }]',
    keyReference === undefined
      ? "consumers: [{ name: alice, credentials: { keys: [static-key-0001] } }]"
      : `consumers: [{ name: alice, credentials: { keys: ["${keyReference}"] } }]`,
    "",
  ].join("\n");
}

interface Running {
  /** The status a request with `key` in x-api-key gets. */
  status(key: string): Promise<number>;
  /** The next reload event that `match` accepts; subscribe before causing it. */
  next(match: (event: ReloadEvent) => boolean, what: string): Promise<ReloadEvent>;
  close(): Promise<void>;
}

/** Starts a gateway on `file` as `gatehouse start` does, with its file provider watching. */
async function run(file: string): Promise<Running> {
  const startup = await validateConfigFile(file);
  const gateway = new Gateway(startup);
  await gateway.start();
  const provider = new FileProvider({ file, control: gateway.control, startup });
  const seen: ReloadEvent[] = [];
  provider.on("reload", (event) => seen.push(event));
  const port = gateway.addresses().proxy[0]!.port;
  const next: Running["next"] = (match, what) => nextReload(provider, match, what, seen);
  // Watching begins with a look at each watched file (nothing changed yet): wait it out.
  const first = next(() => true, "the look taken when watching begins");
  provider.watch();
  assert.equal((await first).result, "unchanged");
  return {
    async status(key) {
      const res = await request(`http://127.0.0.1:${port}/api`, { headers: { "x-api-key": key } });
      await res.body.dump();
      return res.statusCode;
    },
    next,
    async close() {
      provider.close();
      await gateway.stop();
    },
  };
}

const applied = (event: ReloadEvent) => event.result === "applied";
const refused = (event: ReloadEvent) => event.result === "refused";

describe("file provider: files referenced by ${file:...}", () => {
  let up: Upstream;
  let dir: string;
  let log: LogFile;
  before(async () => {
    up = await startUpstream((_req, res) => res.end("up"));
    dir = await mkdtemp(join(tmpdir(), "gatehouse-reference-"));
    log = await tempLogFile();
  });
  after(async () => {
    await up.close();
    await log.remove();
    await rm(dir, { recursive: true, force: true });
  });

  /** A config in its own directory whose key comes from `keys/alice.key` there. */
  async function setup(name: string, key: string) {
    const base = join(dir, name);
    await mkdir(join(base, "keys"), { recursive: true });
    const keyFile = join(base, "keys", "alice.key");
    await writeFile(keyFile, `${key}\n`);
    const file = join(base, "gatehouse.yaml");
    await writeFile(file, config(up.url, "${file:keys/alice.key}", log.path));
    return { base, keyFile, file, text: await readFile(file, "utf8") };
  }

  it("takes a key rotated by writing its file in place, the config file untouched", async () => {
    const { keyFile, file, text } = await setup("in-place", "alice-key-0001");
    const gw = await run(file);
    try {
      assert.equal(await gw.status("alice-key-0001"), 200);
      const reloaded = gw.next(applied, "the key file written in place");
      await writeFile(keyFile, "alice-key-0002\n");
      assert.equal(((await reloaded) as { version: number }).version, 2);
      assert.equal(await gw.status("alice-key-0002"), 200);
      assert.equal(await gw.status("alice-key-0001"), 401);
      assert.equal(await readFile(file, "utf8"), text, "the config file was not touched");
    } finally {
      await gw.close();
    }
  });

  it("takes a key file renamed over the old one (atomic save), twice", async () => {
    const { keyFile, file } = await setup("rename", "alice-key-0001");
    const gw = await run(file);
    try {
      for (const key of ["alice-key-0002", "alice-key-0003"]) {
        const reloaded = gw.next(applied, `the rename to ${key}`);
        await writeFile(`${keyFile}.tmp`, key);
        await rename(`${keyFile}.tmp`, keyFile);
        await reloaded;
        assert.equal(await gw.status(key), 200);
      }
      assert.equal(await gw.status("alice-key-0001"), 401);
      assert.equal(await gw.status("alice-key-0002"), 401);
    } finally {
      await gw.close();
    }
  });

  it("takes a key from a Kubernetes Secret mount when the ..data symlink is swapped", async () => {
    // The kubelet's layout: alice.key -> ..data/alice.key, ..data -> ..<timestamp>/.
    const base = join(dir, "k8s");
    const mount = join(base, "secret");
    const generation = async (name: string, key: string) => {
      await mkdir(join(mount, name), { recursive: true });
      await writeFile(join(mount, name, "alice.key"), key);
    };
    await generation("..2026_11_24_00_00_01.1", "alice-key-0001");
    await symlink("..2026_11_24_00_00_01.1", join(mount, "..data"));
    await symlink("..data/alice.key", join(mount, "alice.key"));
    const file = join(base, "gatehouse.yaml");
    await writeFile(file, config(up.url, "${file:secret/alice.key}", log.path));
    const gw = await run(file);
    try {
      assert.equal(await gw.status("alice-key-0001"), 200);
      const reloaded = gw.next(applied, "the Secret update");
      await generation("..2026_11_24_00_00_02.2", "alice-key-0002");
      await symlink("..2026_11_24_00_00_02.2", join(mount, "..data_tmp"));
      await rename(join(mount, "..data_tmp"), join(mount, "..data"));
      await rm(join(mount, "..2026_11_24_00_00_01.1"), { recursive: true });
      await reloaded;
      assert.equal(await gw.status("alice-key-0002"), 200);
      assert.equal(await gw.status("alice-key-0001"), 401);
    } finally {
      await gw.close();
    }
  });

  it("refuses a config whose key file went away, at the reference; the old key keeps working", async () => {
    const { keyFile, file } = await setup("removed", "alice-key-0001");
    const gw = await run(file);
    try {
      const gone = gw.next(refused, "the removed key file");
      await rm(keyFile);
      const { problems } = (await gone) as { problems: string[] };
      assert.equal(problems.length, 1);
      // Line 9, at the `${` of the reference inside its quoted scalar.
      const col = config(up.url, "${file:keys/alice.key}", log.path).split("\n")[8]!.indexOf("${");
      assert.equal(
        problems[0],
        `${file}:9:${col + 1} \${file:keys/alice.key}: file not found (${keyFile})`,
      );
      assert.equal(await gw.status("alice-key-0001"), 200, "the last good config keeps serving");
      const logged = (await log.lines()).filter(
        (line) => line.level === "error" && line.config === file,
      );
      assert.equal(logged.length, 1);
      assert.match(logged[0]!.msg, /kept the running config/);
      assert.deepEqual(logged[0]!.problems, problems);

      // Back, with a new key: applied, without a touch to the config file.
      const back = gw.next(applied, "the key file written again");
      await writeFile(keyFile, "alice-key-0002");
      await back;
      assert.equal(await gw.status("alice-key-0002"), 200);
      assert.equal(await gw.status("alice-key-0001"), 401);
    } finally {
      await gw.close();
    }
  });

  it("watches a file from the reload whose config first references it", async () => {
    const base = join(dir, "added");
    await mkdir(base);
    const keyFile = join(base, "alice.key");
    await writeFile(keyFile, "alice-key-0001");
    const file = join(base, "gatehouse.yaml");
    await writeFile(file, config(up.url, undefined, log.path));
    const gw = await run(file);
    try {
      assert.equal(await gw.status("static-key-0001"), 200);
      const referenced = gw.next(applied, "the config now referencing alice.key");
      await writeFile(file, config(up.url, "${file:alice.key}", log.path));
      await referenced;
      assert.equal(await gw.status("alice-key-0001"), 200);
      const rotated = gw.next(applied, "the newly referenced file rotated");
      await writeFile(keyFile, "alice-key-0002");
      await rotated;
      assert.equal(await gw.status("alice-key-0002"), 200);
      assert.equal(await gw.status("alice-key-0001"), 401);
    } finally {
      await gw.close();
    }
  });
});
