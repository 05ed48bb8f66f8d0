// Unit tests for least-connections: load per weight, ties spread.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { LeastConnectionsSelector } from "./least-connections.ts";
import { clientRequest, destroyFleet, fleet } from "./test-fleet.ts";

after(destroyFleet);

describe("LeastConnectionsSelector", () => {
  it("picks the fewest requests in flight per unit of weight", () => {
    const [a, b] = fleet([1, 3]);
    a!.inFlight = 2;
    b!.inFlight = 5;
    assert.equal(new LeastConnectionsSelector().select([a!, b!], clientRequest(0)), b, "5/3 < 2/1");
    b!.inFlight = 7;
    assert.equal(new LeastConnectionsSelector().select([a!, b!], clientRequest(0)), a, "2/1 < 7/3");
  });

  it("spreads ties instead of sending them all to the first target", () => {
    const targets = fleet([1, 1, 1, 1]);
    const selector = new LeastConnectionsSelector();
    const picked = new Set(
      Array.from({ length: 4 }, () => selector.select(targets, clientRequest(0))),
    );
    assert.equal(picked.size, 4);
  });

  it("passes over an idle target that is unavailable", () => {
    const [a, b] = fleet([1, 1]);
    a!.health = "unhealthy";
    b!.inFlight = 50;
    assert.equal(new LeastConnectionsSelector().select([a!, b!], clientRequest(0)), b);
  });
});
