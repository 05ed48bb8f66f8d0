// rate-limit on a real redis-server: two gateway processes (the CLI) sharing one Redis
// admit the limit between them, not twice it; a hung or dead Redis is answered by
// onStoreFailure (closed 503, open admits, local limits in memory) within the store
// timeout; the Redis limit serves again once redis-server is back on its port.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { Pool, request } from "undici";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { type RedisServer, startRedisServer } from "../helpers/redis-server.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const cli = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

const until = async (what: string, condition: () => Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/** Starts `gatehouse start --config FILE` and resolves with its proxy port. */
async function startCli(file: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli, "start", "--config", file], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (chunk) => {
    out += chunk;
  });
  child.stderr!.on("data", (chunk) => {
    out += chunk;
  });
  const listening = /proxy listening on 127\.0\.0\.1:(\d+)/;
  await until(`the gateway to listen (output: ${out})`, async () => listening.test(out));
  return { child, url: `http://127.0.0.1:${listening.exec(out)![1]}` };
}

describe("rate-limit (Redis store)", () => {
  let redis: RedisServer;
  let up: Upstream;

  before(async () => {
    redis = await startRedisServer();
    up = await startUpstream((_req, res) => res.end("ok"));
  });
  after(async () => {
    await up?.close();
    await redis?.stop();
  });

  it("two gateway processes sharing Redis admit 1000/min between them, to within 1%", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-rate-limit-"));
    const file = join(dir, "gatehouse.yaml");
    await writeFile(
      file,
      [
        "gateway:",
        "  listen: [{ host: 127.0.0.1, port: 0 }]",
        "  shutdownTimeout: 1s",
        // A generous timeout: this test is about accuracy, not about a loaded machine.
        `  stores: { redis: { url: "${redis.url}", timeout: 2s } }`,
        `services: [{ name: s, targets: [{ url: "${up.url}" }] }]`,
        "routes:",
        "  - name: limited",
        '    match: { paths: ["/limited"] }',
        "    service: s",
        "    plugins:",
        "      - { name: rate-limit, config: { limit: 1000, window: 1m, store: redis, onStoreFailure: closed } }",
        "  - name: warm",
        '    match: { paths: ["/warm"] }',
        "    service: s",
        "    plugins:",
        "      - { name: rate-limit, config: { limit: 1000000, window: 1m, store: redis, onStoreFailure: closed } }",
      ].join("\n"),
    );
    const gateways = await Promise.all([startCli(file), startCli(file)]);
    const pools = gateways.map(
      (gateway) =>
        new Pool(gateway.url, { connections: 100, headersTimeout: 20_000, bodyTimeout: 20_000 }),
    );
    try {
      // Each process answers the warm-up route only once its Redis connection is ready.
      for (const gateway of gateways) {
        await until("the gateway's Redis connection", async () => {
          const res = await request(`${gateway.url}/warm`);
          await res.body.dump();
          return res.statusCode === 200;
        });
      }
      const started = performance.now();
      const statuses = await Promise.all(
        Array.from({ length: 1500 }, async (_, i) => {
          const res = await pools[i % 2]!.request({ path: "/limited", method: "GET" });
          await res.body.dump();
          return res.statusCode;
        }),
      );
      const took = performance.now() - started;
      const count = (status: number) => statuses.filter((s) => s === status).length;
      t.diagnostic(
        `1500 requests over 200 connections to 2 processes in ${took.toFixed(0)}ms: ` +
          `${count(200)} admitted, ${count(429)} refused, ${count(503)} store failures`,
      );
      assert.ok(Math.abs(count(200) - 1000) <= 10, `admitted ${count(200)}, want 1000 ± 1%`);
      assert.equal(count(200) + count(429) + count(503), 1500);
      assert.equal(count(503), 0, "no store failures");
    } finally {
      await Promise.all(pools.map((pool) => pool.close()));
      for (const { child } of gateways) child.kill("SIGTERM");
      await Promise.all(
        gateways.map(({ child }) => (child.exitCode === null ? once(child, "exit") : undefined)),
      );
    }
  });

  it("shares one connection across instances and reloads, and closes it when the gateway stops", async () => {
    const inspect = new Redis(redis.url);
    const gatehouseClients = async () =>
      String(await inspect.client("LIST"))
        .split("\n")
        .filter((line) => line.includes("name=gatehouse ")).length;
    const limited = (name: string, limit: number) => ({
      name,
      match: { paths: [`/${name}`] },
      service: "s",
      plugins: [{ name: "rate-limit", config: { limit, window: "1m", store: "redis" } }],
    });
    const config = (limit: number) =>
      testConfig({
        gateway: { stores: { redis: { url: redis.url } } },
        services: [{ name: "s", targets: [{ url: up.url }] }],
        routes: [limited("a", limit), limited("b", limit)],
      });
    const gw = await startGateway(config(5));
    try {
      await until("the gateway's connection", async () => (await gatehouseClients()) === 1);
      await gw.gateway.reload(parseGatewayConfig(JSON.stringify(config(6)), "reload.yaml", {}));
      assert.equal(await gatehouseClients(), 1, "the new instances took over the connection");
      const res = await request(`${gw.url}/a`);
      await res.body.dump();
      assert.equal(res.headers["ratelimit-limit"], "6");
    } finally {
      await gw.stop();
    }
    await until("the connection to close", async () => (await gatehouseClients()) === 0);
    inspect.disconnect();
  });

  describe("when Redis fails", () => {
    const timeoutMs = 200;
    let gw: RunningGateway;
    let inspect: Redis;
    const route = (name: string, onStoreFailure: string) => ({
      name,
      match: { paths: [`/${name}`] },
      service: "s",
      plugins: [
        { name: "rate-limit", config: { limit: 2, window: "1m", store: "redis", onStoreFailure } },
      ],
    });
    const call = async (path: string) => {
      const started = performance.now();
      const res = await request(`${gw.url}${path}`);
      const text = await res.body.text();
      return {
        status: res.statusCode,
        text,
        headers: res.headers,
        ms: performance.now() - started,
      };
    };
    const redisServes = async () => (await call("/closed")).status !== 503;

    before(async () => {
      inspect = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
      inspect.on("error", () => {});
      gw = await startGateway(
        testConfig({
          gateway: { stores: { redis: { url: redis.url, timeout: `${timeoutMs}ms` } } },
          services: [{ name: "s", targets: [{ url: up.url }] }],
          routes: [route("closed", "closed"), route("open", "open"), route("local", "local")],
        }),
      );
      await until("the Redis connection", redisServes);
      await redis.stop();
      await redis.restart(); // empty again: the tests below start from no counts
      await until("the Redis connection", redisServes);
    });
    after(async () => {
      await gw?.stop();
      inspect?.disconnect();
    });

    it("a hung Redis: closed answers 503 once the store timeout is up, not later", async () => {
      redis.pause();
      try {
        const res = await call("/closed");
        assert.equal(res.status, 503);
        assert.equal(JSON.parse(res.text).error.code, "GATEHOUSE_RATE_LIMIT_UNAVAILABLE");
        assert.ok(
          res.ms >= timeoutMs * 0.75 && res.ms < timeoutMs + 800,
          `answered in ${res.ms}ms`,
        );
      } finally {
        redis.resume();
      }
      await until("Redis to serve again", redisServes);
    });

    it("a dead Redis: closed 503 at once, open admits, local limits in memory; then Redis serves again", async () => {
      await redis.kill();
      try {
        const closed = await call("/closed");
        assert.equal(closed.status, 503);
        assert.equal(JSON.parse(closed.text).error.code, "GATEHOUSE_RATE_LIMIT_UNAVAILABLE");
        assert.ok(closed.ms < timeoutMs + 800, `answered in ${closed.ms}ms`);

        const open = await Promise.all([1, 2, 3, 4].map(() => call("/open")));
        assert.deepEqual(
          open.map((res) => res.status),
          [200, 200, 200, 200],
          "open admits past the limit of 2",
        );
        assert.equal(open[0]!.headers["ratelimit-limit"], undefined, "no count is known");

        const local: number[] = [];
        for (let i = 0; i < 3; i++) local.push((await call("/local")).status);
        assert.deepEqual(local, [200, 200, 429], "local applies limit 2 in memory");
      } finally {
        await redis.restart();
      }
      await until("Redis to serve again", redisServes);
      await inspect.connect();
      // The local route counts in Redis again: fresh Redis, fresh count of 2.
      const admitted = await call("/local");
      assert.equal(admitted.status, 200);
      assert.equal(admitted.headers["ratelimit-remaining"], "1");
      assert.equal((await inspect.keys("gatehouse:rate-limit:route:local:*")).length, 1);
    });
  });
});
