// Unit tests for smooth weighted round-robin: nginx's sequence, precomputed or live.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Target } from "../target.ts";
import { clientRequest, destroyFleet, fleet } from "./test-fleet.ts";
import { smoothSchedule, WeightedRoundRobinSelector } from "./weighted-round-robin.ts";

after(destroyFleet);

function picks(selector: WeightedRoundRobinSelector, targets: Target[], count: number): Target[] {
  return Array.from({ length: count }, () => selector.select(targets, clientRequest(0))!);
}

describe("WeightedRoundRobinSelector", () => {
  it("interleaves by weight as nginx does: 5,1,1 gives a,a,b,a,c,a,a, period after period", () => {
    const targets = fleet([5, 1, 1]);
    const [a, b, c] = targets;
    const period = [a, a, b, a, c, a, a];
    assert.deepEqual(picks(new WeightedRoundRobinSelector(), targets, 14), [...period, ...period]);
  });

  it("gives the same sequence when run live instead of from a precomputed period", () => {
    const targets = fleet([5, 1, 1, 3, 2]);
    const scheduled = picks(new WeightedRoundRobinSelector(), targets, 60);
    const live = picks(new WeightedRoundRobinSelector({ maxPeriod: 0 }), targets, 60);
    assert.deepEqual(live, scheduled);
  });

  it("spreads an unavailable target's turns over the others by weight", () => {
    for (const options of [{}, { maxPeriod: 0 }]) {
      const targets = fleet([4, 1, 2, 3]);
      targets[0]!.health = "unhealthy";
      const selector = new WeightedRoundRobinSelector(options);
      const counts = new Map<Target, number>();
      for (const target of picks(selector, targets, 6_000))
        counts.set(target, (counts.get(target) ?? 0) + 1);
      assert.equal(counts.get(targets[0]!), undefined);
      assert.deepEqual(
        targets.slice(1).map((target) => Math.round((counts.get(target)! / 6_000) * 60)),
        [10, 20, 30],
        JSON.stringify(options),
      );
    }
  });

  it("precomputes only integer weights within the limits", () => {
    assert.deepEqual([...smoothSchedule([2, 1], 10, 100)!], [0, 1, 0]);
    assert.equal(smoothSchedule([1.5, 1], 10, 100), undefined);
    assert.equal(smoothSchedule([8, 3], 10, 100), undefined, "period 11 > 10");
    assert.equal(smoothSchedule([5, 5], 10, 19), undefined, "20 build steps > 19");
  });
});
