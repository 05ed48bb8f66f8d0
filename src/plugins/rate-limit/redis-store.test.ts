// The Redis limiter against a real redis-server: exact under concurrency for both
// algorithms (one atomic script per decision), all-or-nothing across limits, keys under
// the prefix with an expiry, a hung Redis answered at each call's own timeout, a script
// Redis forgot sent again whole, a dead Redis answered as a counted failure in time, and
// a Redis Cluster's keys decided exactly even in one burst.
import assert from "node:assert/strict";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { type RedisServer, startRedisServer } from "../../../test/helpers/redis-server.ts";
import {
  type RedisClusterSetup,
  startRedisCluster,
} from "../../../test/helpers/redis-topologies.ts";
import { RedisConnections } from "../../stores/redis.ts";
import { RedisRateLimitStore } from "./redis-store.ts";

describe("Redis rate-limit store", () => {
  let redis: RedisServer;
  let inspect: Redis;
  const stores: RedisRateLimitStore[] = [];
  const connections = new RedisConnections();
  const storeFor = (
    rules: { limit: number; windowMs: number }[],
    algorithm: "sliding-window" | "token-bucket",
    scope: string,
  ) => {
    const store = new RedisRateLimitStore(rules, algorithm, {
      url: redis.url,
      timeout: 200,
      keyPrefix: "test:",
      scope,
      connections,
    });
    stores.push(store);
    return store;
  };
  const ready = async (store: RedisRateLimitStore) => {
    for (let i = 0; i < 200; i++) {
      if ((await store.decide("warm-up")) !== undefined) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.fail("the store never reached Redis");
  };

  before(async () => {
    redis = await startRedisServer();
    inspect = new Redis(redis.url);
  });
  after(async () => {
    for (const store of stores) store.close();
    inspect?.disconnect();
    await redis?.stop();
  });

  it("lets the first requests wait for the first connection rather than fail", async () => {
    const store = new RedisRateLimitStore([{ limit: 5, windowMs: 1000 }], "sliding-window", {
      url: redis.url,
      timeout: 3000, // a client of its own, connecting now
      keyPrefix: "test:",
      scope: "startup",
      connections,
    });
    stores.push(store);
    const decisions = await Promise.all([1, 2, 3].map(() => store.decide("k")));
    assert.deepEqual(
      decisions.map((decision) => decision?.admitted),
      [true, true, true],
    );
    assert.equal(store.failures, 0);
  });

  for (const algorithm of ["sliding-window", "token-bucket"] as const) {
    it(`${algorithm}: exactly N of many concurrent decisions are admitted`, async () => {
      const store = storeFor([{ limit: 50, windowMs: 60_000 }], algorithm, `exact-${algorithm}`);
      await ready(store);
      const decisions = await Promise.all(Array.from({ length: 120 }, () => store.decide("k")));
      assert.equal(decisions.filter((decision) => decision?.admitted).length, 50);
      const refused = decisions.find((decision) => decision && !decision.admitted)!;
      assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 60_000);
      const remaining = decisions
        .filter((decision) => decision?.admitted)
        .map((decision) => decision!.remaining)
        .sort((a, b) => a - b);
      assert.deepEqual(
        remaining,
        Array.from({ length: 50 }, (_, i) => i),
      );
    });
  }

  it("consumes from no limit when one refuses, and reports the tightest", async () => {
    const perMinute = { limit: 4, windowMs: 60_000 };
    const perHour = { limit: 10, windowMs: 3_600_000 };
    const store = storeFor([perHour, perMinute], "sliding-window", "several");
    await ready(store);
    const first = (await store.decide("k"))!;
    assert.equal(first.rule.limit, 4);
    assert.equal(first.remaining, 3);
    for (let i = 0; i < 3; i++) assert.equal((await store.decide("k"))?.admitted, true);
    for (let i = 0; i < 5; i++) assert.equal((await store.decide("k"))?.admitted, false);
    const keys = (await inspect.keys("test:rate-limit:several:{k}*")).sort();
    assert.deepEqual(keys, [
      "test:rate-limit:several:{k}:sw:10/3600000ms",
      "test:rate-limit:several:{k}:sw:4/60000ms",
    ]);
    assert.equal(await inspect.zcard(keys[0]!), 4, "the refusals took nothing from 10/h");
    const ttl = await inspect.pttl(keys[1]!);
    assert.ok(ttl > 0 && ttl <= 60_000, `expires with its window (pttl ${ttl})`);
  });

  for (const algorithm of ["sliding-window", "token-bucket"] as const) {
    it(`${algorithm}: decides a burst over several keys and limits in one call, each exactly`, async () => {
      const perMinute = { limit: 4, windowMs: 60_000 };
      const perHour = { limit: 6, windowMs: 3_600_000 };
      const store = storeFor([perHour, perMinute], algorithm, `burst-${algorithm}`);
      await ready(store);
      const calls = async () =>
        Number(/cmdstat_evalsha:calls=(\d+)/.exec(await inspect.info("commandstats"))![1]);
      // "a" uses up its minute before the burst; "b" and "c" start empty.
      for (let i = 0; i < 4; i++) assert.equal((await store.decide("a"))?.admitted, true);
      const before = await calls();
      const keys = ["a", "b", "c", "b", "a", "b", "c", "b", "b", "a", "b", "c"];
      const decisions = await Promise.all(keys.map((key) => store.decide(key)));
      assert.equal((await calls()) - before, 1, "the burst went out as one script call");
      const admitted = (key: string) =>
        keys.flatMap((k, i) => (k === key ? [decisions[i]!.admitted] : []));
      assert.deepEqual(admitted("a"), [false, false, false]);
      assert.deepEqual(admitted("b"), [true, true, true, true, false, false]);
      assert.deepEqual(admitted("c"), [true, true, true]);
      const b = keys.flatMap((k, i) => (k === "b" ? [decisions[i]!] : []));
      assert.deepEqual(
        b.slice(0, 4).map((decision) => [decision.rule.limit, decision.remaining]),
        [
          [4, 3],
          [4, 2],
          [4, 1],
          [4, 0],
        ],
      );
      assert.ok(b[4]!.retryAfterMs > 0 && b[4]!.retryAfterMs <= 60_000);
      assert.equal(b[4]!.rule.limit, 4);
      if (algorithm === "sliding-window") {
        const hourOf = (key: string) =>
          `test:rate-limit:burst-${algorithm}:{${key}}:sw:6/3600000ms`;
        assert.equal(await inspect.zcard(hourOf("a")), 4, "refusals consumed nothing");
        assert.equal(await inspect.zcard(hourOf("b")), 4);
        assert.equal(await inspect.zcard(hourOf("c")), 3);
        const ttl = await inspect.pttl(hourOf("c"));
        assert.ok(ttl > 3_000_000 && ttl <= 3_600_000, `expires with its window (pttl ${ttl})`);
      }
    });
  }

  it("sends a burst larger than one call takes as several calls, still exactly", async () => {
    const store = storeFor([{ limit: 1000, windowMs: 60_000 }], "sliding-window", "large-burst");
    await ready(store);
    const calls = async () =>
      Number(/cmdstat_evalsha:calls=(\d+)/.exec(await inspect.info("commandstats"))![1]);
    const before = await calls();
    const decisions = await Promise.all(Array.from({ length: 1200 }, () => store.decide("k")));
    assert.equal((await calls()) - before, 3, "512 + 512 + 176 requests");
    assert.equal(decisions.filter((decision) => decision?.admitted).length, 1000);
    assert.equal(store.failures, 0);
  });

  it("answers a hung Redis as a failure once the timeout (200ms) is up", async () => {
    const store = storeFor([{ limit: 5, windowMs: 1000 }], "sliding-window", "hung");
    await ready(store);
    redis.pause();
    try {
      const started = performance.now();
      assert.equal(await store.decide("k"), undefined);
      const took = performance.now() - started;
      assert.ok(took >= 150 && took < 700, `failed after ${took}ms`);
    } finally {
      redis.resume();
    }
    await ready(store);
  });

  it("gives each call made while Redis is hung its own timeout, however many wait", async () => {
    const store = storeFor([{ limit: 5, windowMs: 1000 }], "sliding-window", "hung-many");
    await ready(store);
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    redis.pause();
    let took: number[];
    try {
      // One call every 5ms over more than one timeout: calls made after the first sweep
      // are timed from when they were made, not from the first call or the last sweep.
      const calls: Promise<number>[] = [];
      for (let i = 0; i < 60; i++) {
        const started = performance.now();
        calls.push(
          store.decide(`k${i}`).then((decision) => {
            assert.equal(decision, undefined);
            return performance.now() - started;
          }),
        );
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      took = await Promise.all(calls);
    } finally {
      redis.resume();
      loopDelay.disable();
    }
    // A timer fires a little late on a loaded machine; a process held up for longer
    // than that answers late whatever it does, so its own worst stall is allowed on top.
    const allowedMs = 200 + 40 + loopDelay.max / 1e6;
    assert.ok(Math.min(...took) >= 199, `fastest failure after ${Math.min(...took)}ms`);
    assert.ok(Math.max(...took) <= allowedMs, `slowest failure after ${Math.max(...took)}ms`);
    await ready(store);
  });

  it("sends the script whole when Redis no longer knows it (SCRIPT FLUSH)", async () => {
    const store = storeFor([{ limit: 3, windowMs: 60_000 }], "token-bucket", "flushed");
    await ready(store);
    await inspect.script("FLUSH");
    const decisions = await Promise.all([1, 2, 3, 4].map(() => store.decide("k")));
    assert.deepEqual(
      decisions.map((decision) => decision?.admitted),
      [true, true, true, false],
    );
    assert.equal(store.failures, 0);
  });

  it("answers a dead Redis as a failure at once, counts it, and recovers", async () => {
    const store = storeFor([{ limit: 5, windowMs: 1000 }], "token-bucket", "failure");
    await ready(store);
    await redis.kill();
    try {
      const started = performance.now();
      assert.equal(await store.decide("k"), undefined);
      assert.ok(performance.now() - started < 1000);
      assert.ok(store.failures >= 1);
    } finally {
      await redis.restart();
    }
    await ready(store);
    assert.equal((await store.decide("k"))?.admitted, true);
  });
});

describe("Redis rate-limit store on a Redis Cluster", () => {
  let cluster: RedisClusterSetup;
  const connections = new RedisConnections();

  before(async () => {
    cluster = await startRedisCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  it("decides keys on every master in one turn exactly, from the first burst", async () => {
    const store = new RedisRateLimitStore([{ limit: 20, windowMs: 60_000 }], "sliding-window", {
      cluster: cluster.nodes,
      timeout: 3000,
      keyPrefix: "test:",
      scope: "cluster-burst",
      connections,
    });
    try {
      // Six keys land on more than one master; 30 decisions each, all made in one turn
      // before any node connection is open.
      const keys = ["a", "b", "c", "d", "e", "f"];
      const decisions = await Promise.all(
        keys.flatMap((key) => Array.from({ length: 30 }, () => store.decide(key))),
      );
      const admitted = keys.map(
        (_, i) => decisions.slice(i * 30, i * 30 + 30).filter((d) => d?.admitted).length,
      );
      assert.deepEqual(admitted, [20, 20, 20, 20, 20, 20]);
      assert.equal(store.failures, 0);
    } finally {
      store.close();
    }
  });
});
