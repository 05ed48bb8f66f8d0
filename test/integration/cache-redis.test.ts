// The cache plugin's Redis store on a real redis-server, shared by two gateway nodes: a
// response stored through one is a hit on the other, and a purge sent to one node's admin
// API (by URL, prefix or tag) removes it for both. With the memory store, a purge reaches
// the node it is sent to.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Agent, request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { type RedisServer, startRedisServer } from "../helpers/redis-server.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const agent = new Agent({ keepAliveTimeout: 1000 });

/** Both nodes are behind one name, as behind a load balancer: the key includes the host. */
const host = "shop.example";

async function get(base: string, path: string) {
  const res = await request(`${base}${path}`, { dispatcher: agent, headers: { host } });
  const body = await res.body.text();
  return { body, cache: res.headers["x-cache-status"], tag: res.headers["cache-tag"] };
}

async function purge(gw: RunningGateway, query: string) {
  const admin = gw.gateway.addresses().admin!;
  const res = await request(`http://127.0.0.1:${admin.port}/cache?${query}`, {
    method: "DELETE",
    dispatcher: agent,
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

function node(upstream: string, redis: string | undefined) {
  return startGateway(
    testConfig({
      gateway: {
        admin: { host: "127.0.0.1", port: 0 },
        ...(redis && { stores: { redis: { url: redis, timeout: "500ms" } } }),
      },
      services: [{ name: "origin", targets: [{ url: upstream }] }],
      routes: [
        {
          name: "catalog",
          match: { paths: ["/*"] },
          service: "origin",
          plugins: [{ name: "cache", config: { store: redis ? "redis" : "memory" } }],
        },
      ],
    }),
  );
}

describe("cache plugin, Redis store shared by two nodes", () => {
  let redis: RedisServer;
  let up: Upstream;
  let a: RunningGateway;
  let b: RunningGateway;
  let memory: RunningGateway;

  before(async () => {
    redis = await startRedisServer();
    up = await startUpstream((req, res) => {
      const tag = req.url!.startsWith("/shoes") ? "shoes" : "other";
      res.writeHead(200, { "cache-control": "max-age=300", "cache-tag": `${tag} catalog` });
      res.end(`item ${req.url}`);
    });
    a = await node(up.url, redis.url);
    b = await node(up.url, redis.url);
    memory = await node(up.url, undefined);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await memory?.stop();
    await up?.close();
    await redis?.stop();
    await agent.close();
  });

  /** Stores `path` through node A and waits until node B hits it. */
  async function storedOnBoth(path: string) {
    await until(async () => (await get(a.url, path)).cache === "HIT", `${path} stored through A`);
    assert.equal((await get(b.url, path)).cache, "HIT");
  }

  it("a response stored through one node is a hit on the other; its tags are not sent", async () => {
    const first = await get(a.url, "/shoes/1");
    assert.equal(first.tag, undefined);
    await storedOnBoth("/shoes/1");
    const fromB = await get(b.url, "/shoes/1");
    assert.equal(fromB.body, "item /shoes/1");
    assert.equal(fromB.tag, undefined);
  });

  it("a purge by tag, URL or prefix sent to node A reaches node B", async () => {
    for (const path of ["/shoes/2", "/hats/1", "/hats/2?size=m", "/bags/1"])
      await storedOnBoth(path);
    const byTag = await purge(a, "tag=shoes");
    assert.equal(byTag.status, 200);
    assert.deepEqual(byTag.body.stores, ["redis"]);
    assert.ok((byTag.body.purged as number) >= 1);
    assert.equal((await get(b.url, "/shoes/2")).cache, "MISS");
    assert.equal((await get(b.url, "/hats/1")).cache, "HIT");

    const url = `http://${host}/hats/2?size=m`;
    const byUrl = await purge(a, `url=${encodeURIComponent(url)}`);
    assert.equal(byUrl.body.purged, 1);
    assert.equal((await get(b.url, "/hats/2?size=m")).cache, "MISS");
    assert.equal((await get(b.url, "/hats/1")).cache, "HIT");

    const byPrefix = await purge(a, `prefix=${encodeURIComponent(`http://${host}/hats/`)}`);
    assert.ok((byPrefix.body.purged as number) >= 1);
    assert.equal((await get(b.url, "/hats/1")).cache, "MISS");
    assert.equal((await get(b.url, "/bags/1")).cache, "HIT");
  });

  it("a dead Redis makes lookups misses, never failed requests; entries come back with it", async () => {
    await storedOnBoth("/bags/9");
    await redis.kill();
    const started = Date.now();
    for (let i = 0; i < 3; i++) {
      const res = await request(`${b.url}/bags/9`, { dispatcher: agent, headers: { host } });
      assert.equal(res.statusCode, 200);
      assert.equal(await res.body.text(), "item /bags/9");
      assert.equal(res.headers["x-cache-status"], "MISS");
    }
    assert.ok(Date.now() - started < 5_000, "answered within the store timeout, not held");
    await redis.restart();
    await storedOnBoth("/bags/9");
  });

  it("with the memory store a purge reaches the node it is sent to", async () => {
    await get(memory.url, "/shoes/9");
    assert.equal((await get(memory.url, "/shoes/9")).cache, "HIT");
    const purged = await purge(memory, "tag=catalog");
    assert.deepEqual(purged.body, { purged: 1, stores: ["memory"] });
    assert.equal((await get(memory.url, "/shoes/9")).cache, "MISS");
    assert.equal((await get(memory.url, "/shoes/9")).cache, "HIT");
    const prefix = await purge(memory, `prefix=${encodeURIComponent(`http://${host}/sh`)}`);
    assert.equal(prefix.body.purged, 1);
    assert.equal((await purge(memory, "tag=")).status, 400);
  });
});
