import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { circuitBreakerSchema } from "../config/schema/upstream.ts";
import { type TargetEvent, TargetRegistry } from "./target-registry.ts";

const spec = {
  service: "users",
  url: "http://127.0.0.1:9001",
  weight: 1,
  connectTimeout: 1000,
  maxConnections: 0,
};
const breaker = circuitBreakerSchema.parse({ minRequests: 1 });

/** Each event as [type, url, what changed]. */
const summary = (events: TargetEvent[]) =>
  events.map((event) => [
    event.type,
    event.target.url,
    event.type === "changed" ? event.transition.kind : "",
  ]);

describe("TargetRegistry", () => {
  it("keeps one target per identity, found by identity", async () => {
    const registry = new TargetRegistry();
    try {
      const first = registry.acquire(spec);
      const again = registry.acquire({ ...spec, url: "http://127.0.0.1:9001/", weight: 5 });
      assert.equal(again, first, "same service, origin and connect timeout");
      assert.equal(first.weight, 5);
      assert.notEqual(registry.acquire({ ...spec, service: "orders" }), first);
      assert.notEqual(registry.acquire({ ...spec, connectTimeout: 2000 }), first);
      assert.equal(registry.acquire({ ...spec, protocol: "http" }), first, "http is the default");
      const grpc = registry.acquire({ ...spec, protocol: "grpc" });
      assert.notEqual(grpc, first, "a service turned grpc gets targets that speak HTTP/2");
      assert.equal(grpc.protocol, "grpc");
      assert.equal(registry.get(first.identity), first);
      assert.equal([...registry.values()].length, 4);
    } finally {
      await registry.destroyAll();
    }
  });

  it("tells its subscribers of targets added, changed and removed", async () => {
    const registry = new TargetRegistry();
    const events: TargetEvent[] = [];
    registry.subscribe((event) => events.push(event));
    try {
      const a = registry.acquire({ ...spec, circuitBreaker: breaker });
      registry.acquire({ ...spec, circuitBreaker: breaker });
      const b = registry.acquire({ ...spec, url: "http://127.0.0.1:9002" });
      a.onOutcome({ kind: "reset", durationMs: 1 });
      registry.retainOnly(new Set([b]));
      assert.deepEqual(summary(events), [
        ["added", "http://127.0.0.1:9001", ""],
        ["added", "http://127.0.0.1:9002", ""],
        ["changed", "http://127.0.0.1:9001", "breaker"],
        ["removed", "http://127.0.0.1:9001", ""],
      ]);
    } finally {
      await registry.destroyAll();
    }
  });

  it("stops telling a subscriber that unsubscribed", async () => {
    const registry = new TargetRegistry();
    const events: TargetEvent[] = [];
    const stop = registry.subscribe((event) => events.push(event));
    try {
      stop();
      registry.acquire(spec);
      assert.deepEqual(events, []);
    } finally {
      await registry.destroyAll();
    }
  });
});
