// The etcd config store with a real etcd and three real `gatehouse start` processes on one
// prefix: a change made through one node's admin API serves on all three (timed); two
// nodes writing at once never lose an update; a config over etcd's 1.5 MiB request limit
// goes through in chunks; etcd down: traffic goes on, writes answer 503, the metric says
// stale, a node restarts from its cache (or refuses to without one); etcd back: changes
// propagate again.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { Etcd3 } from "etcd3";
import { EtcdConfigStore } from "../../src/providers/etcd-store.ts";
import { runGatehouse } from "../helpers/cli.ts";
import { type EtcdServer, startEtcdServer } from "../helpers/etcd-server.ts";
import { type GatehouseNode, startGatehouseNode } from "../helpers/gatehouse-node.ts";
import { startUpstream } from "../helpers/upstream.ts";

const storeUp = /gatehouse_config_store_up\{store="etcd"\} (\d)/;
const source = (path: string) => pathToFileURL(join(import.meta.dirname, "../..", path)).href;
/** A plugin that validates and then cannot be created: a config that passes checks but fails to apply. */
const cannotStart = `import { z } from "${source("node_modules/zod/index.js")}";
import { definePlugin } from "${source("src/index.ts")}";
export default definePlugin({
  name: "cannot-start",
  schema: z.strictObject({}),
  priority: 10,
  create: () => { throw new Error("this plugin cannot start"); },
});
`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 2 ms until it is true; the milliseconds it took, or fails after `limitMs`. */
async function timeUntil(check: () => Promise<boolean>, limitMs: number, what: string) {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > limitMs) assert.fail(`${what}: not within ${limitMs} ms`);
    await sleep(2);
  }
  return performance.now() - start;
}

describe("etcd config store: three nodes", () => {
  let etcd: EtcdServer;
  let dir: string;
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  const nodes: GatehouseNode[] = [];
  const files: string[] = [];

  /**
   * Node i's config: same prefix and seed; nodes 0 and 1 keep a cache, node 2 does not and
   * serves from 2 worker threads (each etcd version reaches both before it counts as applied).
   */
  const config = (i: number) =>
    [
      "gateway:",
      "  listen: [{ host: 127.0.0.1, port: 0 }]",
      ...(i === 2 ? ["  workers: 2"] : []),
      "  status: { port: 0 }",
      "  admin: { port: 0 }",
      "  shutdownTimeout: 1s",
      // Relative to the config file, in every worker thread too (node 3 has 2), even once
      // the config serving came from etcd and was never read from a file.
      "  pluginModules: [./cannot-start.ts]",
      "  accessLog: { enabled: false }",
      "  configStore:",
      "    versions: 5",
      `    etcd: { endpoints: ["${etcd.url}"], prefix: /cluster/, timeout: 500ms${
        i < 2 ? `, cache: ${join(dir, `cache-${i}.json`)}` : ""
      } }`,
      `services: [{ name: s, targets: [{ url: "${upstream.url}" }] }]`,
      'routes: [{ name: base, match: { paths: ["/base"] }, service: s }]',
    ].join("\n");

  const route = (name: string, extra: object = {}) => ({
    name,
    match: { paths: [`/${name}`] },
    service: "s",
    ...extra,
  });

  before(async () => {
    etcd = await startEtcdServer();
    dir = await mkdtemp(join(tmpdir(), "gatehouse-etcd-test-"));
    upstream = await startUpstream((_req, res) => res.end("ok"));
    await writeFile(join(dir, "cannot-start.ts"), cannotStart);
    for (const i of [0, 1, 2]) {
      files.push(join(dir, `node-${i}.yaml`));
      await writeFile(files[i]!, config(i));
    }
    // Started together: exactly one of them seeds the empty prefix.
    const started = await Promise.allSettled(files.map((file) => startGatehouseNode(file)));
    for (const result of started) if (result.status === "fulfilled") nodes.push(result.value);
    // One that failed must not leave the others running (the test would hang on them).
    const failed = started.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
  });

  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await etcd?.remove();
    await upstream?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("seeds once and serves the same version everywhere", async () => {
    for (const node of nodes) {
      assert.equal(await node.get("/base"), 200);
      const { body } = await node.admin("GET", "/config/versions");
      assert.equal(body.current, 1);
      assert.equal(body.versions[0].source, "etcd");
    }
  });

  it("a route added through node 1 serves on every node, timed", async () => {
    const started = performance.now();
    const created = await nodes[0]!.admin("POST", "/routes", route("fresh"));
    assert.equal(created.status, 201);
    const answered = performance.now() - started;
    const times = await Promise.all(
      nodes.map((node) =>
        timeUntil(async () => (await node.get("/fresh")) === 200, 1_000, "propagation"),
      ),
    );
    console.log(
      `admin answer ${answered.toFixed(1)} ms; then serving on node 1/2/3 after ${times.map((t) => t.toFixed(1)).join(" / ")} ms`,
    );
    for (const node of nodes)
      assert.equal((await node.admin("GET", "/config/versions")).body.current, 2);
    // The writer applied it before answering; its watch does not apply it a second time.
    assert.doesNotMatch(nodes[0]!.output(), /applied config version 2 from etcd/);
    for (const node of nodes.slice(1))
      assert.match(node.output(), /applied config version 2 from etcd/);
  });

  /** Waits until every node (of `among`) serves config version `version`. */
  const allAt = (version: number, among = nodes) =>
    Promise.all(
      among.map((node) =>
        timeUntil(
          async () => (await node.admin("GET", "/config/versions")).body.current === version,
          5_000,
          `version ${version}`,
        ),
      ),
    );

  it("two nodes writing at once: one wins, the other gets 409, no update is lost", async () => {
    // Both based on version 2 (If-Match): exactly one of them can make version 3.
    const raced = await Promise.all(
      [0, 1].map((i) =>
        nodes[i]!.admin("PUT", `/routes/match-${i}`, route(`match-${i}`), { "if-match": '"2"' }),
      ),
    );
    assert.deepEqual(raced.map((answer) => answer.status).sort(), [201, 409]);
    const loser = raced.find((answer) => answer.status === 409)!;
    assert.equal(loser.body.error.code, "GATEHOUSE_CONFIG_CONFLICT");
    const winner = raced.findIndex((answer) => answer.status === 201);
    await allAt(3);
    for (const node of nodes) {
      assert.equal(await node.get(`/match-${winner}`), 200);
      assert.equal(await node.get(`/match-${1 - winner}`), 404);
    }
    // Without If-Match: each write is based on what its node serves; whatever was answered
    // 201 serves everywhere in the end, and a refusal is a 409, never a silent overwrite.
    let version = 3;
    const conflicts: string[] = [];
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(
        [0, 1].map((i) => nodes[i]!.admin("POST", "/routes", route(`race-${round}-${i}`))),
      );
      for (const answer of answers) {
        if (answer.status === 409) conflicts.push(answer.body.error.code);
        else assert.equal(answer.status, 201);
      }
      version += answers.filter((answer) => answer.status === 201).length;
      await allAt(version);
      for (const [i, answer] of answers.entries())
        for (const node of nodes)
          assert.equal(await node.get(`/race-${round}-${i}`), answer.status === 201 ? 200 : 404);
    }
    assert.ok(conflicts.every((code) => code === "GATEHOUSE_CONFIG_CONFLICT"));
    console.log(`concurrent writes without If-Match: ${conflicts.length} of 10 refused with 409`);
  });

  it("a config over etcd's 1.5 MiB request limit goes through in chunks", async () => {
    const { body: current } = await nodes[0]!.admin("GET", "/config/versions");
    // 5,000 routes with long paths: about 2 MiB of JSON.
    const long = "x".repeat(300);
    const routes = Array.from({ length: 5_000 }, (_, i) => ({
      name: `big-${i}`,
      match: { paths: [`/big/${i}/${long}`] },
      service: "s",
    }));
    const document = {
      services: [{ name: "s", targets: [{ url: upstream.url }] }],
      routes: [{ name: "base", match: { paths: ["/base"] }, service: "s" }, ...routes],
    };
    assert.ok(JSON.stringify(document).length > 1.5 * 1024 * 1024);
    const replaced = await nodes[0]!.admin("PUT", "/config", document);
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    await allAt(current.current + 1, [nodes[1]!]);
    assert.equal(await nodes[1]!.get(`/big/4999/${long}`), 200);
    // Back to a small config, so the rest stays quick.
    const small = await nodes[0]!.admin("PUT", "/config", {
      services: document.services,
      routes: [document.routes[0], route("small")],
    });
    assert.equal(small.status, 200);
    await allAt(current.current + 2);
  });

  it("a version in etcd that does not validate is refused on every node; a change replaces it only with If-Match naming it", async () => {
    const store = new EtcdConfigStore(
      { endpoints: [etcd.url], prefix: "/cluster/", timeout: 2_000 },
      5,
    );
    const current = (await store.readCurrent())!;
    try {
      const bad = await store.write(
        {
          services: [{ name: "s", targets: [{ url: upstream.url }] }],
          routes: [{ name: "bad", match: { paths: ["/bad"] }, service: "missing" }],
        },
        { appliedAt: new Date().toISOString(), source: "admin", actor: "outside" },
        current,
      );
      for (const node of nodes) {
        await timeUntil(
          async () => node.output().includes(`etcd's config version ${bad.version} is refused`),
          2_000,
          "refusal logged",
        );
        const { body } = await node.admin("GET", "/config/versions");
        assert.equal(body.current, current.version, "the last good config keeps serving");
        assert.equal(body.lastRefusal.source, "etcd");
        assert.match(body.lastRefusal.problems.join("\n"), /missing/);
        assert.equal(await node.get("/small"), 200);
      }
    } finally {
      store.close();
    }
    // Made here, a change would drop the refused version's (it may serve on other nodes).
    const dropping = await nodes[2]!.admin("POST", "/routes", route("fixed"));
    assert.equal(dropping.status, 409, JSON.stringify(dropping.body));
    const bad = current.version + 1;
    assert.match(
      dropping.body.error.message,
      new RegExp(`version ${bad} was refused on this node`),
    );
    const fixed = await nodes[2]!.admin("POST", "/routes", route("fixed"), {
      "if-match": `"${bad}"`,
    });
    assert.equal(fixed.status, 201, JSON.stringify(fixed.body));
    for (const node of nodes)
      await timeUntil(async () => (await node.get("/fixed")) === 200, 1_000, "the fix propagates");
  });

  it("a change etcd committed that fails to apply on its node: the node counts etcd's version, the next change goes through", async () => {
    const { body } = await nodes[0]!.admin("GET", "/config/versions");
    const plugins = [{ name: "cannot-start", config: {} }];
    const failed = await nodes[0]!.admin("POST", "/routes", route("cannot-start", { plugins }));
    assert.equal(failed.status, 500, JSON.stringify(failed.body));
    assert.match(
      failed.body.error.message,
      /version \d+ is written to etcd .*applying it on this node failed: this plugin cannot start/,
    );
    assert.equal(await nodes[0]!.get("/small"), 200, "the last config applied keeps serving");
    assert.equal((await nodes[0]!.admin("GET", "/config/versions")).body.current, body.current + 1);
    // Based on etcd's version (not a 409 "catching up"); every node applies it.
    const removed = await nodes[0]!.admin("DELETE", "/routes/cannot-start");
    assert.equal(removed.status, 204, JSON.stringify(removed.body));
    await allAt(body.current + 2);
    for (const node of nodes) assert.equal(await node.get("/small"), 200);
  });

  it("the prefix deleted while the nodes run: one writes back what they serve, changes go on", async () => {
    const { body } = await nodes[0]!.admin("GET", "/config/versions");
    const raw = new Etcd3({ hosts: etcd.url });
    try {
      await raw.delete().prefix("/cluster/");
      await timeUntil(
        async () => nodes.some((node) => /the etcd prefix was empty/.test(node.output())),
        2_000,
        "a node reseeds the prefix",
      );
      const reseeded = JSON.parse((await raw.get("/cluster/current").string())!);
      assert.equal(reseeded.version, body.current);
    } finally {
      raw.close();
    }
    for (const [i, node] of nodes.entries()) {
      const created = await node.admin("POST", "/routes", route(`after-reseed-${i}`));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      await allAt(body.current + i + 1);
    }
    for (const node of nodes) assert.equal(await node.get("/after-reseed-0"), 200);
  });

  it("etcd's history started over (a lower version written later): every node takes it", async () => {
    // What a node seeding an emptied prefix from its file leaves: version 1, written last.
    const document = {
      services: [{ name: "s", targets: [{ url: upstream.url }] }],
      routes: [route("small"), route("restarted")],
    };
    const text = JSON.stringify(document);
    const hash = createHash("sha256").update(text).digest("hex").slice(0, 16);
    const raw = new Etcd3({ hosts: etcd.url });
    try {
      await raw.put("/cluster/versions/1/chunks/restart/0").value(text);
      const stored = { version: 1, hash, writeId: "restart", chunks: 1, source: "start" };
      await raw.put("/cluster/current").value(JSON.stringify({ ...stored, actor: "seed" }));
    } finally {
      raw.close();
    }
    await allAt(1);
    for (const node of nodes) {
      assert.equal(await node.get("/restarted"), 200);
      assert.match(node.output(), /etcd's config history started over \(version 1 after \d+/);
    }
    const created = await nodes[1]!.admin("POST", "/routes", route("after-restart"));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await allAt(2);
    for (const node of nodes) assert.equal(await node.get("/after-restart"), 200);
  });

  it("`current` put by hand, not JSON: every node refuses it and keeps serving, the next change replaces it", async () => {
    const { body } = await nodes[0]!.admin("GET", "/config/versions");
    const raw = new Etcd3({ hosts: etcd.url });
    try {
      await raw.put("/cluster/current").value("{not json");
    } finally {
      raw.close();
    }
    for (const node of nodes) {
      await timeUntil(
        async () => node.output().includes("etcd's current config is not a version record"),
        2_000,
        "refusal logged",
      );
      assert.equal(node.process.exitCode, null);
      assert.equal(await node.get("/small"), 200);
      assert.match(
        (await node.admin("GET", "/config/versions")).body.lastRefusal.problems[0],
        /not JSON/,
      );
    }
    const created = await nodes[2]!.admin("POST", "/routes", route("after-malformed"));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await allAt(body.current + 1);
    for (const node of nodes) assert.equal(await node.get("/after-malformed"), 200);
  });

  it("a write that failed while the watch stayed connected: the metric is up again once etcd answers", async () => {
    const { body } = await nodes[0]!.admin("GET", "/config/versions");
    etcd.pause();
    try {
      const refused = await nodes[0]!.admin("POST", "/routes", route("while-paused"));
      assert.equal(refused.status, 503);
    } finally {
      etcd.resume();
    }
    assert.equal(await nodes[0]!.metric(storeUp), 0);
    const created = await nodes[1]!.admin("POST", "/routes", route("after-pause"));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await allAt(body.current + 1);
    await timeUntil(async () => (await nodes[0]!.metric(storeUp)) === 1, 2_000, "store_up 1");
  });

  it("etcd down: traffic goes on, writes answer 503, the metric says stale; back: changes propagate", async () => {
    await etcd.kill();
    for (const node of nodes) assert.equal(await node.get("/small"), 200);
    const refused = await nodes[0]!.admin("POST", "/routes", route("while-down"));
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error.code, "GATEHOUSE_CONFIG_STORE_UNAVAILABLE");
    for (const node of nodes) {
      await timeUntil(async () => (await node.metric(storeUp)) === 0, 5_000, "store_up 0");
      assert.equal((await fetch(`${node.statusUrl}/ready`)).status, 200);
    }
    assert.match(
      nodes[1]!.output(),
      /etcd config store unreachable: serving the last applied config \(stale\)/,
    );

    // A node restarted while etcd is down starts from its cache...
    await nodes[1]!.stop();
    nodes[1] = await startGatehouseNode(files[1]!);
    assert.equal(await nodes[1].get("/small"), 200);
    assert.equal(await nodes[1].metric(storeUp), 0);
    assert.match(
      nodes[1].output(),
      /started from the cached config version \d+: stale until etcd is back/,
    );
    assert.equal((await stat(join(dir, "cache-1.json"))).mode & 0o777, 0o600);
    // ...and one without a cache refuses to start, saying why.
    await nodes[2]!.stop();
    const refusedStart = await runGatehouse(["start", "-c", files[2]!], { timeoutMs: 15_000 });
    assert.equal(refusedStart.code, 1);
    assert.match(
      refusedStart.stdout,
      /cannot reach etcd at http:\/\/127\.0\.0\.1:\d+ .*gateway\.configStore\.etcd\.cache is not set: refusing to start/,
    );

    await etcd.restart();
    nodes[2] = await startGatehouseNode(files[2]!);
    const reloaded = /^gatehouse_config_reloads_total\{result="success"\} (\d+)$/m;
    assert.equal(await nodes[2].metric(reloaded), 0, "taking etcd's config at start is no reload");
    for (const node of nodes)
      await timeUntil(async () => (await node.metric(storeUp)) === 1, 5_000, "store_up 1");
    assert.match(nodes[0]!.output(), /etcd config store reachable again/);
    const created = await nodes[1]!.admin("POST", "/routes", route("after"));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    for (const node of nodes)
      await timeUntil(
        async () => (await node.get("/after")) === 200,
        1_000,
        "propagation after etcd returned",
      );
    assert.equal(await nodes[2].metric(reloaded), 1, "a version from etcd is a reload");
  });
});
