// Unit tests for random: the random source decides, and unavailable targets cost no bias.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Target } from "../target.ts";
import { RandomSelector } from "./random.ts";
import { clientRequest, destroyFleet, fleet, seededRandom } from "./test-fleet.ts";

after(destroyFleet);

describe("RandomSelector", () => {
  it("maps the random number onto the targets", () => {
    const targets = fleet([1, 1, 1, 1]);
    assert.equal(new RandomSelector(() => 0).select(targets, clientRequest(0)), targets[0]);
    assert.equal(new RandomSelector(() => 0.6).select(targets, clientRequest(0)), targets[2]);
    assert.equal(new RandomSelector(() => 0.999).select(targets, clientRequest(0)), targets[3]);
  });

  it("finds the one available target even when every draw lands on an unavailable one", () => {
    const targets = fleet(Array.from({ length: 10 }, () => 1));
    for (const target of targets.slice(1)) target.health = "unhealthy";
    const selector = new RandomSelector(() => 0.95);
    assert.equal(selector.select(targets, clientRequest(0)), targets[0]);
  });

  it("keeps the spread even among the available targets", () => {
    const targets = fleet(Array.from({ length: 10 }, () => 1));
    for (const i of [0, 1, 2, 3, 4, 5]) targets[i]!.health = "unhealthy";
    const selector = new RandomSelector(seededRandom(3));
    const counts = new Map<Target, number>();
    for (let n = 0; n < 20_000; n++) {
      const target = selector.select(targets, clientRequest(n))!;
      counts.set(target, (counts.get(target) ?? 0) + 1);
    }
    assert.equal(counts.size, 4);
    for (const count of counts.values()) assert.ok(Math.abs(count / 20_000 - 0.25) < 0.02);
  });
});
