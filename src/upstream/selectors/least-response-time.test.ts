// Unit tests for least-response-time: latency times queue per weight, new targets first.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { ManualClock } from "../clock.ts";
import { LeastResponseTimeSelector } from "./least-response-time.ts";
import { clientRequest, destroyFleet, fleet } from "./test-fleet.ts";

after(destroyFleet);

const pick = (...targets: Parameters<LeastResponseTimeSelector["select"]>[0]) =>
  new LeastResponseTimeSelector().select(targets, clientRequest(0));

describe("LeastResponseTimeSelector", () => {
  it("prefers the faster target until its queue outweighs its speed", () => {
    const [slow, fast] = fleet([1, 1], new ManualClock());
    slow!.latency.record(50);
    fast!.latency.record(5);
    assert.equal(pick(slow!, fast!), fast);
    fast!.inFlight = 20; // 6 × 21 = 126 > 51 × 1
    assert.equal(pick(slow!, fast!), slow);
  });

  it("moves away from a target the moment it slows down (peak EWMA)", () => {
    const [a, b] = fleet([1, 1], new ManualClock());
    a!.latency.record(10);
    b!.latency.record(12);
    assert.equal(pick(a!, b!), a);
    a!.latency.record(200);
    assert.equal(pick(a!, b!), b);
  });

  it("counts weight: twice the weight takes twice the queue at the same latency", () => {
    const [light, heavy] = fleet([1, 2], new ManualClock());
    light!.latency.record(10);
    heavy!.latency.record(10);
    light!.inFlight = 1;
    heavy!.inFlight = 2;
    assert.equal(pick(light!, heavy!), heavy, "11 × 3 / 2 < 11 × 2 / 1");
    heavy!.inFlight = 4;
    assert.equal(pick(light!, heavy!), light);
  });

  it("tries an unmeasured target first, but one request at a time until it answers", () => {
    const [a, b, fresh] = fleet([1, 1, 1], new ManualClock());
    a!.latency.record(1);
    b!.latency.record(1);
    assert.equal(pick(a!, b!, fresh!), fresh);
    fresh!.inFlight = 1;
    a!.inFlight = 30;
    b!.inFlight = 40;
    assert.equal(pick(a!, b!, fresh!), a);
  });
});
