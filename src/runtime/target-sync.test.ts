import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { circuitBreakerSchema, healthCheckSchema } from "../config/schema/upstream.ts";
import { systemClock } from "../upstream/clock.ts";
import { OutlierDetector } from "../upstream/health/outlier.ts";
import { TargetRegistry } from "./target-registry.ts";
import {
  applyTargetState,
  captureTargetState,
  type TargetStateChange,
  watchTargetState,
} from "./target-sync.ts";

const url = "http://127.0.0.1:9001";
const breaker = circuitBreakerSchema.parse({ minRequests: 1, openDuration: "30s" });
const failure = () => ({ kind: "connect-failure", durationMs: 1 }) as const;

function twoServicesOneUrl() {
  const registry = new TargetRegistry();
  const spec = { url, weight: 1, connectTimeout: 1000, maxConnections: 0, circuitBreaker: breaker };
  const a = registry.acquire({ ...spec, service: "a" });
  const b = registry.acquire({ ...spec, service: "b" });
  return { registry, a, b };
}

describe("target state across threads", () => {
  it("applies a change to the target it names, not to every one with its URL", async () => {
    const { registry, a, b } = twoServicesOneUrl();
    try {
      const at = a.identity;
      applyTargetState(registry, {
        target: at,
        transition: { kind: "breaker", state: "open", openForMs: 5000 },
      });
      applyTargetState(registry, {
        target: at,
        transition: { kind: "ejection", ejections: 1, durationMs: 5000 },
      });
      applyTargetState(registry, {
        target: at,
        transition: { kind: "health", health: "unhealthy" },
      });
      assert.deepEqual([a.breaker!.state, a.ejections, a.health], ["open", 1, "unhealthy"]);
      assert.deepEqual([b.breaker!.state, b.ejections, b.health], ["closed", 0, "healthy"]);
      assert.ok(!a.usable() && b.usable());
    } finally {
      await registry.destroyAll();
    }
  });

  it("captures what a starting worker needs: health, ejections and open breakers, per target", async () => {
    const { registry, b } = twoServicesOneUrl();
    try {
      applyTargetState(registry, {
        target: b.identity,
        transition: { kind: "breaker", state: "open", openForMs: 5000 },
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

  it("sends the breaker, ejection and health transitions of this registry's targets, once each", async () => {
    const { registry, a, b } = twoServicesOneUrl();
    const sent: TargetStateChange[] = [];
    const stop = watchTargetState(registry, (change) => sent.push(change));
    try {
      a.onOutcome(failure());
      const detector = new OutlierDetector(
        healthCheckSchema.parse({ passive: { consecutiveFailures: 1 } }).passive!,
        systemClock,
        () => [b, a],
      );
      detector.observe(b, failure());
      a.transitioned({ kind: "health", health: "unhealthy" });
      assert.deepEqual(
        sent.map((change) => [change.target, change.transition.kind]),
        [
          [a.identity, "breaker"],
          [b.identity, "ejection"],
          [a.identity, "health"],
        ],
      );
      assert.deepEqual(sent[0]!.transition, { kind: "breaker", state: "open", openForMs: 30_000 });
      // What another thread sent is applied without being sent again.
      applyTargetState(registry, {
        target: b.identity,
        transition: { kind: "breaker", state: "open", openForMs: 5000 },
      });
      assert.equal(sent.length, 3);
      stop();
      b.transitioned({ kind: "health", health: "unhealthy" });
      assert.equal(sent.length, 3, "nothing after stop");
    } finally {
      stop();
      await registry.destroyAll();
    }
  });

  it("sends nothing of another gateway's targets in the same process", async () => {
    const mine = twoServicesOneUrl();
    const theirs = twoServicesOneUrl();
    const sent: TargetStateChange[] = [];
    const stop = watchTargetState(mine.registry, (change) => sent.push(change));
    try {
      theirs.a.onOutcome(failure());
      assert.equal(theirs.a.breaker!.state, "open");
      assert.deepEqual(sent, []);
    } finally {
      stop();
      await mine.registry.destroyAll();
      await theirs.registry.destroyAll();
    }
  });

  it("sends nothing of a target the registry let go, while its last requests finish", async () => {
    const { registry, a, b } = twoServicesOneUrl();
    const sent: TargetStateChange[] = [];
    const stop = watchTargetState(registry, (change) => sent.push(change));
    try {
      registry.retainOnly(new Set([b]));
      a.onOutcome(failure());
      assert.equal(a.breaker!.state, "open");
      assert.deepEqual(sent, []);
    } finally {
      stop();
      await registry.destroyAll();
    }
  });
});
