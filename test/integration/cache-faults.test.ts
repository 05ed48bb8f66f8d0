// The cache plugin when things go wrong or grow large: stale-if-error with the upstream
// answering 5xx and with it gone (connection refused), the memory store's byte bound
// evicting the least recently used entries, bodies over maxObjectSize streamed through
// uncached, the route's ttl and defaultTtl overrides, the metrics, and keys per consumer.
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { after, describe, it } from "node:test";
import { Agent, request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const agent = new Agent({ keepAliveTimeout: 1000 });

async function get(base: string, path: string) {
  const res = await request(`${base}${path}`, { dispatcher: agent });
  const body = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    body,
    cache: res.headers["x-cache-status"],
  };
}

async function cacheGateway(url: string, config: Record<string, unknown> = {}) {
  return startGateway(
    testConfig({
      services: [{ name: "origin", targets: [{ url }] }],
      routes: [
        {
          name: "cached",
          match: { paths: ["/*"] },
          service: "origin",
          plugins: [{ name: "cache", config }],
        },
      ],
    }),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("cache plugin under faults and bounds", () => {
  const started: { stop(): Promise<void> }[] = [];
  const closed: Upstream[] = [];
  after(async () => {
    for (const gateway of started) await gateway.stop();
    for (const upstream of closed) await upstream.close();
    await agent.close();
  });

  async function setUp(handler: (req: IncomingMessage, res: ServerResponse) => void, config = {}) {
    const up = await startUpstream(handler);
    closed.push(up);
    const gw: RunningGateway = await cacheGateway(up.url, config);
    started.push(gw);
    return { up, gw };
  }

  it("stale-if-error: a 5xx, then a dead upstream, are answered with the stale entry in its window", async () => {
    let failing = false;
    const { up, gw } = await setUp((req, res) => {
      if (failing) {
        res.writeHead(503).end("down");
        return;
      }
      const cc =
        req.url === "/short" ? "max-age=1, stale-if-error=1" : "max-age=1, stale-if-error=60";
      res.writeHead(200, { "cache-control": cc }).end(`body ${req.url}`);
    });
    await get(gw.url, "/sie");
    await get(gw.url, "/short");
    await sleep(1100);
    failing = true;
    const on5xx = await get(gw.url, "/sie");
    assert.deepEqual([on5xx.status, on5xx.cache, on5xx.body], [200, "STALE", "body /sie"]);
    await up.close();
    const onRefused = await get(gw.url, "/sie");
    assert.deepEqual(
      [onRefused.status, onRefused.cache, onRefused.body],
      [200, "STALE", "body /sie"],
    );
    // Past its window (max-age 1 + stale-if-error 1), the failure is the client's answer.
    await sleep(1000);
    const past = await get(gw.url, "/short");
    assert.equal(past.status, 502);
    assert.equal(JSON.parse(past.body).error.code, "GATEHOUSE_UPSTREAM_CONNECT_FAILED");
  });

  it("the memory store keeps within maxSize, evicting the least recently used", async () => {
    const { up, gw } = await setUp(
      (req, res) => {
        res.writeHead(200, { "cache-control": "max-age=60" }).end(Buffer.alloc(40_000, req.url));
      },
      { maxSize: "100kb" },
    );
    await get(gw.url, "/a");
    await get(gw.url, "/b");
    assert.equal((await get(gw.url, "/a")).cache, "HIT");
    // A third 40 kB entry passes 100 kB: /b, the least recently used, goes.
    await get(gw.url, "/c");
    assert.equal((await get(gw.url, "/a")).cache, "HIT");
    assert.equal((await get(gw.url, "/c")).cache, "HIT");
    assert.equal((await get(gw.url, "/b")).cache, "MISS");
    assert.equal(up.requests.length, 4);
    const expected = [
      'gatehouse_cache_requests_total{route="cached",status="MISS"} 4',
      'gatehouse_cache_requests_total{route="cached",status="HIT"} 3',
    ];
    let metrics = "";
    // Counted once each response has finished (onLog): wait for the last.
    await until(
      async () => {
        metrics = await (
          await request(`${gw.statusUrl}/metrics`, { dispatcher: agent })
        ).body.text();
        const counted = metrics
          .split("\n")
          .filter((line) => line.startsWith("gatehouse_cache_req"));
        return JSON.stringify(counted) === JSON.stringify(expected);
      },
      `the cache counters to read ${expected.join(", ")}`,
    );
    const stored = Number(/^gatehouse_cache_stored_bytes (\d+)/m.exec(metrics)?.[1]);
    assert.ok(stored > 80_000 && stored <= 100_000, `stored bytes ${stored}`);
  });

  it("a body over maxObjectSize streams through whole and is not stored", async () => {
    const big = Buffer.alloc(300_000, "z");
    const { up, gw } = await setUp(
      (req, res) => {
        res.writeHead(200, { "cache-control": "max-age=60" });
        // Chunked, so the size shows only as the body streams.
        if (req.url === "/chunked") {
          res.write(big.subarray(0, 150_000));
          setTimeout(() => res.end(big.subarray(150_000)), 20);
        } else res.end(big);
      },
      { maxObjectSize: "100kb" },
    );
    for (const path of ["/chunked", "/sized"]) {
      const first = await get(gw.url, path);
      assert.equal(first.body.length, big.length);
      assert.equal(first.cache, "MISS");
      assert.equal((await get(gw.url, path)).cache, "MISS");
    }
    assert.equal(up.requests.length, 4);
  });

  it("ttl overrides the upstream's freshness; defaultTtl gives it to responses without any", async () => {
    const { up, gw } = await setUp(
      (req, res) => {
        const headers: Record<string, string> =
          req.url === "/short" ? { "cache-control": "max-age=600" } : {};
        if (req.url === "/private") headers["cache-control"] = "private";
        res.writeHead(200, headers).end("x");
      },
      { ttl: "1s" },
    );
    await get(gw.url, "/short");
    assert.equal((await get(gw.url, "/short")).cache, "HIT");
    await sleep(1100);
    assert.equal((await get(gw.url, "/short")).cache, "MISS");
    await get(gw.url, "/none");
    assert.equal((await get(gw.url, "/none")).cache, "HIT");
    await get(gw.url, "/private");
    assert.equal((await get(gw.url, "/private")).cache, "MISS");
    assert.equal(up.requests.length, 5);
    const second = await setUp((_req, res) => res.end("plain"), { defaultTtl: "60s" });
    await get(second.gw.url, "/p");
    assert.equal((await get(second.gw.url, "/p")).cache, "HIT");
  });

  it("key.consumer: each consumer (here from key-auth) gets entries of its own", async () => {
    const up = await startUpstream((req, res) => {
      res.writeHead(200, { "cache-control": "public, max-age=60" });
      res.end(`for ${req.headers["x-consumer-name"]}`);
    });
    closed.push(up);
    const gw = await startGateway(
      testConfig({
        consumers: [
          { name: "alice", credentials: { keys: ["alice-key-0000000001"] } },
          { name: "bob", credentials: { keys: ["bob-key-00000000001"] } },
        ],
        services: [{ name: "origin", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "mine",
            match: { paths: ["/*"] },
            service: "origin",
            plugins: [{ name: "key-auth" }, { name: "cache", config: { key: { consumer: true } } }],
          },
        ],
      }),
    );
    started.push(gw);
    const as = async (key: string) => {
      const res = await request(`${gw.url}/me`, {
        dispatcher: agent,
        headers: { "x-api-key": key },
      });
      return { body: await res.body.text(), cache: res.headers["x-cache-status"] };
    };
    assert.deepEqual(await as("alice-key-0000000001"), { body: "for alice", cache: "MISS" });
    assert.deepEqual(await as("bob-key-00000000001"), { body: "for bob", cache: "MISS" });
    assert.deepEqual(await as("alice-key-0000000001"), { body: "for alice", cache: "HIT" });
    assert.deepEqual(await as("bob-key-00000000001"), { body: "for bob", cache: "HIT" });
    // The cache runs after authentication: no key, no answer from it.
    const anonymous = await request(`${gw.url}/me`, { dispatcher: agent });
    await anonymous.body.dump();
    assert.equal(anonymous.statusCode, 401);
  });
});
