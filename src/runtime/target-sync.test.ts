import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { circuitBreakerSchema } from "../config/schema/upstream.ts";
import { TargetRegistry } from "./target-registry.ts";
import { applyTargetState, captureTargetState } from "./target-sync.ts";

const url = "http://127.0.0.1:9001";
const breaker = circuitBreakerSchema.parse({ minRequests: 1, openDuration: "30s" });

function twoServicesOneUrl() {
  const registry = new TargetRegistry();
  const spec = { url, weight: 1, connectTimeout: 1000, maxConnections: 0, circuitBreaker: breaker };
  const a = registry.acquire({ ...spec, service: "a" });
  const b = registry.acquire({ ...spec, service: "b" });
  return { registry, a, b };
}

describe("target state across threads", () => {
  it("applies a change to the target of the service it names, not to every one with its URL", async () => {
    const { registry, a, b } = twoServicesOneUrl();
    try {
      applyTargetState(registry, {
        kind: "breaker",
        service: "a",
        url,
        state: "open",
        openForMs: 5000,
      });
      applyTargetState(registry, {
        kind: "ejection",
        service: "a",
        url,
        ejections: 1,
        durationMs: 5000,
      });
      applyTargetState(registry, { kind: "health", service: "a", url, health: "unhealthy" });
      assert.deepEqual([a.breaker!.state, a.ejections, a.health], ["open", 1, "unhealthy"]);
      assert.deepEqual([b.breaker!.state, b.ejections, b.health], ["closed", 0, "healthy"]);
      assert.ok(!a.usable() && b.usable());
    } finally {
      await registry.destroyAll();
    }
  });

  it("captures what a starting worker needs: health, ejections and open breakers, per service", async () => {
    const { registry } = twoServicesOneUrl();
    try {
      applyTargetState(registry, {
        kind: "breaker",
        service: "b",
        url,
        state: "open",
        openForMs: 5000,
      });
      const captured = captureTargetState(registry);
      const fresh = twoServicesOneUrl();
      for (const change of captured) applyTargetState(fresh.registry, change);
      assert.equal(fresh.a.breaker!.state, "closed");
      assert.equal(fresh.b.breaker!.state, "open");
      await fresh.registry.destroyAll();
    } finally {
      await registry.destroyAll();
    }
  });
});
