// Unit tests for the panic threshold.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { circuitBreakerSchema } from "../../config/schema/upstream.ts";
import { CircuitBreaker } from "../breaker.ts";
import { ManualClock } from "../clock.ts";
import { destroyFleet, fleet } from "../selectors/test-fleet.ts";
import type { Target } from "../target.ts";
import { admitsInPanic, inPanic, PanicThreshold } from "./panic.ts";

after(destroyFleet);

function service(count: number) {
  const clock = new ManualClock();
  const targets = fleet(
    Array.from({ length: count }, () => 1),
    clock,
  );
  return { clock, targets };
}

describe("inPanic", () => {
  it("is in panic only when fewer than the threshold's share of targets are usable", () => {
    const { targets } = service(4);
    targets[0]!.health = "unhealthy";
    assert.equal(inPanic(targets, 50), false, "3 of 4 usable");
    targets[1]!.health = "unknown";
    assert.equal(inPanic(targets, 50), false, "2 of 4 is exactly 50%: not fewer");
    targets[2]!.health = "unhealthy";
    assert.equal(inPanic(targets, 50), true, "1 of 4 usable");
    assert.equal(inPanic(targets, 25), false);
    assert.equal(inPanic(targets, 26), true);
  });

  it("is never in panic with a threshold of 0 or no targets", () => {
    const { targets } = service(3);
    for (const target of targets) target.health = "unhealthy";
    assert.equal(inPanic(targets, 0), false);
    assert.equal(inPanic([], 100), false);
  });

  it("at 100% panics as soon as one target is unusable", () => {
    const { targets } = service(3);
    assert.equal(inPanic(targets, 100), false);
    targets[2]!.health = "unhealthy";
    assert.equal(inPanic(targets, 100), true);
  });

  it("counts ejected targets and open breakers as unusable, but not full ones", () => {
    const { clock, targets } = service(2);
    const [ejected, broken] = targets as [Target, Target];
    ejected.ejectedUntil = clock.now() + 1_000;
    assert.equal(inPanic(targets, 60), true);
    broken.breaker = new CircuitBreaker(circuitBreakerSchema.parse({ minRequests: 1 }), clock);
    broken.breaker.record({ kind: "timeout", durationMs: 1 });
    assert.equal(inPanic(targets, 1), true, "none usable");
    clock.advance(1_000);
    assert.equal(inPanic(targets, 50), false, "the ejection is over");
    ejected.maxConnections = 1;
    ejected.inFlight = 1;
    assert.equal(inPanic(targets, 50), false, "a full target is still usable");
  });
});

describe("admitsInPanic", () => {
  it("admits unhealthy, ejected and broken targets, but not full ones", () => {
    const { clock, targets } = service(1);
    const [target] = targets as [Target];
    target.health = "unhealthy";
    target.ejectedUntil = clock.now() + 1_000;
    assert.equal(admitsInPanic(target), true);
    target.maxConnections = 2;
    target.inFlight = 2;
    assert.equal(admitsInPanic(target), false);
  });
});

describe("PanicThreshold", () => {
  it("recomputes at most once per clock millisecond for the same targets", () => {
    const { clock, targets } = service(40);
    const panic = new PanicThreshold(50, clock);
    assert.equal(panic.test(targets), false);
    for (const target of targets.slice(0, 21)) target.health = "unhealthy";
    clock.advance(0.5);
    assert.equal(panic.test(targets), false, "same millisecond: the cached answer");
    clock.advance(0.5);
    assert.equal(panic.test(targets), true);
  });

  it("recomputes at once for a different targets list (a reload)", () => {
    const { clock, targets } = service(40);
    const panic = new PanicThreshold(50, clock);
    assert.equal(panic.test(targets), false);
    for (const target of targets) target.health = "unhealthy";
    assert.equal(panic.test([...targets]), true);
  });

  it("answers small services afresh on every call", () => {
    const { clock, targets } = service(2);
    const panic = new PanicThreshold(50, clock);
    assert.equal(panic.test(targets), false);
    for (const target of targets) target.health = "unhealthy";
    assert.equal(panic.test(targets), true);
  });

  it("is off at 0%", () => {
    const { clock, targets } = service(1);
    targets[0]!.health = "unhealthy";
    assert.equal(new PanicThreshold(0, clock).test(targets), false);
  });
});
