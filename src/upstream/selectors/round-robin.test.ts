// Unit tests for round-robin: order and skipping.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { RoundRobinSelector } from "./round-robin.ts";
import { clientRequest, destroyFleet, fleet } from "./test-fleet.ts";

after(destroyFleet);

describe("RoundRobinSelector", () => {
  it("takes the targets in order, whatever their weights", () => {
    const selector = new RoundRobinSelector();
    const targets = fleet([5, 1, 1]);
    const picks = Array.from({ length: 6 }, () => selector.select(targets, clientRequest(0)));
    assert.deepEqual(picks, [...targets, ...targets]);
  });

  it("skips an unavailable target without giving its turn twice to one neighbour", () => {
    const selector = new RoundRobinSelector();
    const [a, b, c, d] = fleet([1, 1, 1, 1]);
    b!.health = "unhealthy";
    const picks = Array.from({ length: 6 }, () =>
      selector.select([a!, b!, c!, d!], clientRequest(0)),
    );
    assert.deepEqual(picks, [a, c, d, a, c, d]);
  });
});
