// A gateway's Redis connections: one client per Redis shared by its users, kept until the
// last lets go, and none shared with another gateway's connections.
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { type RedisServer, startRedisServer } from "../../test/helpers/redis-server.ts";
import { RedisConnections } from "./redis.ts";

describe("Redis connections", () => {
  let redis: RedisServer;

  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.stop();
  });

  it("share one client per Redis within a gateway, and none across gateways", async () => {
    const mine = new RedisConnections();
    const theirs = new RedisConnections();
    const target = { url: redis.url };
    const first = mine.acquire(target, { timeout: 500 });
    const second = mine.acquire(target, { timeout: 500 });
    const other = theirs.acquire(target, { timeout: 500 });
    try {
      assert.equal(first.client, second.client, "one client for the gateway's users");
      assert.notEqual(first.client, other.client, "another gateway has its own");
      if (first.client.status !== "ready") await once(first.client, "ready");
      assert.equal(await first.client.ping(), "PONG");
      first.release();
      assert.equal(await second.client.ping(), "PONG", "kept while one user holds it");
      second.release();
      const again = mine.acquire(target, { timeout: 500 });
      assert.notEqual(again.client, first.client, "a new client once the last let go");
      again.release();
    } finally {
      first.release();
      second.release();
      other.release();
    }
  });
});
