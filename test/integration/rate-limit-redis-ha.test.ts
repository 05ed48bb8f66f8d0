// gateway.stores.redis beyond one server, on real redis-server processes (with passwords,
// on the data nodes and on the Sentinel): two gateway processes (the CLI) sharing a
// Sentinel-watched master admit a limit of N between them, and keep limiting after a
// switchover (the old master demoted, still up) and after the master is killed and the
// Sentinel fails over to its replica; the same two processes on a 3-master Redis Cluster admit N, with several limits per request
// (one multi-key script, one hash slot) and keys spread over the masters.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { request } from "undici";
import { configProblems } from "../helpers/config-problems.ts";
import {
  type RedisClusterSetup,
  type RedisSentinelSetup,
  redisPassword,
  startRedisCluster,
  startRedisSentinel,
} from "../helpers/redis-topologies.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const cli = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

const until = async (what: string, condition: () => Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

interface Node {
  child: ChildProcess;
  url: string;
}

/** Two `gatehouse start` processes on one config whose routes use `store: redis`. */
async function startTwoGateways(
  dir: string,
  store: string,
  up: Upstream,
  env: Record<string, string> = {},
): Promise<Node[]> {
  const limit = (extra: string) => `config: { store: redis, onStoreFailure: closed, ${extra} }`;
  const file = join(dir, "gatehouse.yaml");
  await writeFile(
    file,
    [
      "gateway:",
      "  listen: [{ host: 127.0.0.1, port: 0 }]",
      "  shutdownTimeout: 1s",
      "  accessLog: { enabled: false }",
      `  stores: { redis: { ${store}, timeout: 2s } }`,
      `services: [{ name: s, targets: [{ url: "${up.url}" }] }]`,
      "routes:",
      '  - { name: warm, match: { paths: ["/warm"] }, service: s, plugins: [{ name: rate-limit, config: { limit: 1000000, window: 1m, store: redis, onStoreFailure: closed } }] }',
      `  - { name: before, match: { paths: ["/before"] }, service: s, plugins: [{ name: rate-limit, ${limit("limits: [{ limit: 20, window: 1m }, { limit: 1000, window: 1h }]")} }] }`,
      `  - { name: switched, match: { paths: ["/switched"] }, service: s, plugins: [{ name: rate-limit, ${limit("limit: 10, window: 1m")} }] }`,
      `  - { name: after, match: { paths: ["/after"] }, service: s, plugins: [{ name: rate-limit, ${limit("limit: 10, window: 1m")} }] }`,
      `  - { name: tenants, match: { paths: ["/tenants"] }, service: s, plugins: [{ name: rate-limit, ${limit("limit: 5, window: 1m, by: { header: x-tenant }")} }] }`,
    ].join("\n"),
  );
  const nodes = await Promise.all([startCli(file, env), startCli(file, env)]);
  for (const node of nodes) {
    await until("the gateway's Redis connection", async () => (await get(node, "/warm")) === 200);
  }
  return nodes;
}

async function startCli(file: string, env: Record<string, string>): Promise<Node> {
  const child = spawn(process.execPath, [cli, "start", "--config", file], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let out = "";
  child.stdout!.on("data", (chunk) => {
    out += chunk;
  });
  child.stderr!.on("data", (chunk) => {
    out += chunk;
  });
  const listening = /proxy listening on 127\.0\.0\.1:(\d+)/;
  await until("the gateway to listen", async () => {
    if (child.exitCode !== null) assert.fail(`the gateway exited: ${out}`);
    return listening.test(out);
  });
  return { child, url: `http://127.0.0.1:${listening.exec(out)![1]}` };
}

async function stopNodes(nodes: readonly Node[]): Promise<void> {
  for (const { child } of nodes) child.kill("SIGTERM");
  await Promise.all(
    nodes.map(({ child }) => (child.exitCode === null ? once(child, "exit") : undefined)),
  );
}

async function get(node: Node, path: string, headers: Record<string, string> = {}) {
  const res = await request(`${node.url}${path}`, { headers });
  await res.body.dump();
  return res.statusCode;
}

/** `total` requests to `path`, alternating between the nodes; the count of each status. */
async function spread(nodes: readonly Node[], path: string, total: number, headers = {}) {
  const statuses = await Promise.all(
    Array.from({ length: total }, (_, i) => get(nodes[i % nodes.length]!, path, headers)),
  );
  const counts: Record<number, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

describe("rate-limit on Redis Sentinel and Redis Cluster", () => {
  let up: Upstream;
  let dir: string;
  before(async () => {
    up = await startUpstream((_req, res) => res.end("ok"));
    dir = await mkdtemp(join(tmpdir(), "gatehouse-redis-ha-"));
  });
  after(async () => {
    await up?.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe("Sentinel", () => {
    let sentinel: RedisSentinelSetup;
    let nodes: Node[] = [];
    before(async () => {
      sentinel = await startRedisSentinel();
      const sentinels = sentinel.sentinels.map((url) => `"${url}"`).join(", ");
      // The master's password comes from the environment, as a deployment would give it.
      const store = `sentinels: [${sentinels}], name: ${sentinel.name}, password: "\${env:REDIS_PASSWORD}"`;
      nodes = await startTwoGateways(dir, store, up, { REDIS_PASSWORD: redisPassword });
    });
    after(async () => {
      await stopNodes(nodes);
      await sentinel?.stop();
    });

    it("two gateways admit a limit of 20 between them, through the master Sentinel names", async () => {
      assert.deepEqual(await spread(nodes, "/before", 30), { 200: 20, 429: 10 });
    });

    it("keep limiting after a switchover demotes the master while it stays up", async (t) => {
      const started = performance.now();
      await sentinel.switchOver(15_000);
      const switched = performance.now();
      // Still connected to the demoted master, each gateway's next decision meets READONLY
      // (a store failure, 503 with onStoreFailure: closed) and reconnects through the Sentinel.
      for (const node of nodes) {
        await until(
          "the gateway to reach the new master",
          async () => (await get(node, "/warm")) === 200,
        );
      }
      t.diagnostic(
        `switchover: ${(switched - started).toFixed(0)}ms; both gateways on the new master ` +
          `${(performance.now() - switched).toFixed(0)}ms later`,
      );
      assert.deepEqual(await spread(nodes, "/switched", 15), { 200: 10, 429: 5 });
    });

    it("keep limiting after the master dies and the Sentinel promotes the replica", async (t) => {
      const started = performance.now();
      await sentinel.failOver(15_000);
      const promoted = performance.now();
      for (const node of nodes) {
        await until(
          "the gateway to reach the new master",
          async () => (await get(node, "/warm")) === 200,
        );
      }
      t.diagnostic(
        `failover: Sentinel promoted the replica ${(promoted - started).toFixed(0)}ms after the kill; ` +
          `both gateways served from it ${(performance.now() - promoted).toFixed(0)}ms later`,
      );
      assert.deepEqual(await spread(nodes, "/after", 15), { 200: 10, 429: 5 });
    });
  });

  describe("Cluster", () => {
    let cluster: RedisClusterSetup;
    let nodes: Node[] = [];
    before(async () => {
      cluster = await startRedisCluster();
      const list = cluster.nodes.map((url) => `"${url}"`).join(", ");
      nodes = await startTwoGateways(dir, `cluster: [${list}]`, up);
    });
    after(async () => {
      await stopNodes(nodes);
      await cluster?.stop();
    });

    it("two gateways admit a limit of 20 between them, two limits decided in one script", async () => {
      assert.deepEqual(await spread(nodes, "/before", 30), { 200: 20, 429: 10 });
    });

    it("limits every key apart, with the keys spread over the masters", async () => {
      const tenants = Array.from({ length: 8 }, (_, i) => `tenant-${i}`);
      for (const tenant of tenants) {
        const counts = await spread(nodes, "/tenants", 7, { "x-tenant": tenant });
        assert.deepEqual(counts, { 200: 5, 429: 2 }, tenant);
      }
      const perMaster = await Promise.all(
        cluster.nodes.map(async (url) => {
          const client = new Redis(url, { protocol: 2 }); // the URL carries the password
          try {
            return (await client.keys("gatehouse:rate-limit:route:tenants:*")).length;
          } finally {
            client.disconnect();
          }
        }),
      );
      assert.equal(
        perMaster.reduce((a, b) => a + b),
        tenants.length,
      );
      assert.ok(perMaster.filter((n) => n > 0).length >= 2, `keys per master: ${perMaster}`);
    });
  });

  describe("config", () => {
    const problemsOf = (redis: string) =>
      configProblems(
        ["gateway:", "  listen: [{ port: 8080 }]", `  stores: { redis: ${redis} }`].join("\n"),
      );

    it("accepts exactly one of url, sentinels with name, or cluster", () => {
      assert.deepEqual(problemsOf("{ url: redis://127.0.0.1:6379 }"), []);
      assert.deepEqual(
        problemsOf(
          "{ sentinels: [redis://10.0.0.1:26379, redis://:pw@10.0.0.2:26379], name: main, password: secret }",
        ),
        [],
      );
      assert.deepEqual(problemsOf("{ cluster: [redis://10.0.0.1:7000] }"), []);
    });

    it("refuses none, two at once, sentinels without name, and name without sentinels, located", () => {
      const expect = (redis: string, pattern: RegExp) => {
        const problems = problemsOf(redis);
        assert.ok(
          problems.some((line) => pattern.test(line)),
          `${redis}: ${problems.join("\n")}`,
        );
      };
      expect(
        "{ timeout: 1s }",
        /^gw\.yaml:3:\d+ gateway\.stores\.redis: give one of url, sentinels/,
      );
      expect(
        "{ url: redis://a:1, cluster: [redis://b:2] }",
        /^gw\.yaml:3:\d+ gateway\.stores\.redis\.cluster: give one of url, sentinels or cluster, not url and cluster/,
      );
      expect(
        "{ sentinels: [redis://a:26379] }",
        /^gw\.yaml:3:\d+ gateway\.stores\.redis\.sentinels: sentinels needs `name`/,
      );
      expect(
        "{ url: redis://a:1, name: main }",
        /gateway\.stores\.redis\.name: name goes with sentinels/,
      );
      expect(
        "{ cluster: [rediss://a:1] }",
        /gateway\.stores\.redis\.cluster\[0\]: must be a redis:/,
      );
    });
  });
});
