// Unit tests for weighted-random: cumulative weights, and odds kept when targets drop out.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Target } from "../target.ts";
import { clientRequest, destroyFleet, fleet, seededRandom } from "./test-fleet.ts";
import { WeightedRandomSelector } from "./weighted-random.ts";

after(destroyFleet);

function shares(selector: WeightedRandomSelector, targets: Target[], picks: number): number[] {
  const counts = new Map<Target, number>();
  for (let n = 0; n < picks; n++) {
    const target = selector.select(targets, clientRequest(n))!;
    counts.set(target, (counts.get(target) ?? 0) + 1);
  }
  return targets.map((target) => (counts.get(target) ?? 0) / picks);
}

describe("WeightedRandomSelector", () => {
  it("gives each target the stretch of [0, 1) its weight covers", () => {
    const [a, b, c] = fleet([1, 3, 4]);
    const pick = (r: number) =>
      new WeightedRandomSelector(() => r).select([a!, b!, c!], clientRequest(0));
    assert.equal(pick(0), a);
    assert.equal(pick(0.124), a);
    assert.equal(pick(0.125), b);
    assert.equal(pick(0.49), b);
    assert.equal(pick(0.5), c);
    assert.equal(pick(0.999), c);
  });

  it("keeps the others' odds proportional when a target is unavailable", () => {
    const targets = fleet([1, 2, 6]);
    targets[2]!.health = "unhealthy";
    const [a, b, c] = shares(new WeightedRandomSelector(seededRandom(11)), targets, 30_000);
    assert.equal(c, 0);
    assert.ok(Math.abs(a! - 1 / 3) < 0.015, `a: ${a}`);
    assert.ok(Math.abs(b! - 2 / 3) < 0.015, `b: ${b}`);
  });

  it("finds the available target of a mostly unavailable pool by weight", () => {
    const targets = fleet([100, 100, 100, 1, 2]);
    for (const target of targets.slice(0, 3)) target.health = "unhealthy";
    const [, , , d, e] = shares(new WeightedRandomSelector(seededRandom(5)), targets, 30_000);
    assert.ok(Math.abs(d! - 1 / 3) < 0.015, `d: ${d}`);
    assert.ok(Math.abs(e! - 2 / 3) < 0.015, `e: ${e}`);
  });
});
