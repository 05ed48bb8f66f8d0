// The contract every selector keeps, run against each algorithm the config accepts.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { algorithms } from "../../config/schema/upstream.ts";
import type { Target } from "../target.ts";
import { type Algorithm, createSelector } from "./index.ts";
import type { SelectionOptions, Selector } from "./selector.ts";
import { clientRequest, destroyFleet, fleet, seededRandom } from "./test-fleet.ts";

after(destroyFleet);

/** Algorithms whose spread follows the weights; the others spread evenly. */
const weightAware = new Set<Algorithm>([
  "weighted-round-robin",
  "weighted-random",
  "least-connections",
  "least-response-time",
  "consistent-hash",
]);

/** Allowed deviation from the expected share, relative to it (a ring of 160 points per
 * weight unit gives each target its share to within about ±8%). */
const tolerance: Partial<Record<Algorithm, number>> = { "consistent-hash": 0.15 };

/**
 * Sends `picks` requests from distinct clients, `concurrency` at a time: the oldest
 * finishes (after a 10 ms response) before each new one starts, as under steady load.
 * Returns how many requests each target got.
 */
function simulate(
  selector: Selector,
  targets: Target[],
  picks: number,
  options?: SelectionOptions,
  concurrency = 100,
): Map<Target, number> {
  const counts = new Map<Target, number>(targets.map((target) => [target, 0]));
  const inFlight: Target[] = [];
  for (let n = 0; n < picks; n++) {
    if (inFlight.length === concurrency) {
      const done = inFlight.shift()!;
      done.inFlight--;
      done.latency.record(10);
    }
    const target = selector.select(targets, clientRequest(n), options);
    assert.ok(target, `pick ${n} found no target`);
    target.inFlight++;
    inFlight.push(target);
    counts.set(target, counts.get(target)! + 1);
  }
  for (const target of inFlight) target.inFlight--;
  return counts;
}

for (const algorithm of algorithms) {
  describe(`selector conformance: ${algorithm}`, () => {
    const create = () => createSelector({ algorithm }, { random: seededRandom(7) });

    it(`spreads requests ${weightAware.has(algorithm) ? "by weight" : "evenly"}`, () => {
      const weights = [1, 2, 3, 4];
      const targets = fleet(weights);
      const picks = 40_000;
      const counts = simulate(create(), targets, picks);
      const total = weights.reduce((a, b) => a + b, 0);
      const allowed = tolerance[algorithm] ?? 0.1;
      targets.forEach((target, i) => {
        const expected = weightAware.has(algorithm) ? weights[i]! / total : 1 / targets.length;
        const share = counts.get(target)! / picks;
        assert.ok(
          Math.abs(share - expected) <= allowed * expected,
          `target ${i} (weight ${weights[i]}) got ${(share * 100).toFixed(1)}%, expected ${(expected * 100).toFixed(1)}%`,
        );
      });
    });

    it("never picks an unavailable target, and still uses every other one", () => {
      const targets = fleet([1, 1, 1, 1, 1]);
      targets[1]!.health = "unhealthy";
      targets[3]!.maxConnections = 1;
      targets[3]!.inFlight = 1;
      const counts = simulate(create(), targets, 5_000, undefined, 10);
      assert.equal(counts.get(targets[1]!), 0);
      assert.equal(counts.get(targets[3]!), 0);
      for (const i of [0, 2, 4]) assert.ok(counts.get(targets[i]!)! > 0, `target ${i} unused`);
    });

    it("returns undefined for an empty pool and for a pool with nothing available", () => {
      const selector = create();
      assert.equal(selector.select([], clientRequest(1)), undefined);
      const targets = fleet([1, 2, 3]);
      for (const target of targets) target.health = "unhealthy";
      for (let n = 0; n < 50; n++)
        assert.equal(selector.select(targets, clientRequest(n)), undefined);
    });

    it("always picks the only target", () => {
      const selector = create();
      const [only] = fleet([3]);
      for (let n = 0; n < 200; n++) {
        only!.inFlight = n % 5;
        assert.equal(selector.select([only!], clientRequest(n)), only);
      }
      only!.inFlight = 0;
    });

    it("passes over excluded targets, and finds none when every available one is excluded", () => {
      const selector = create();
      const targets = fleet([1, 2, 3, 4]);
      targets[3]!.health = "unhealthy";
      const exclude = new Set([targets[0]!]);
      const counts = simulate(selector, targets, 2_000, { exclude }, 10);
      assert.equal(counts.get(targets[0]!), 0);
      assert.equal(counts.get(targets[3]!), 0);
      const everything = new Set(targets.slice(0, 3));
      for (let n = 0; n < 50; n++)
        assert.equal(
          selector.select(targets, clientRequest(n), { exclude: everything }),
          undefined,
        );
    });

    it("follows a new targets array: a removed target is never picked again", () => {
      const selector = create();
      const targets = fleet([1, 1, 1, 1]);
      simulate(selector, targets, 200, undefined, 4);
      const remaining = [targets[0]!, targets[2]!, targets[3]!];
      const counts = simulate(selector, remaining, 3_000, undefined, 4);
      assert.equal(counts.has(targets[1]!), false);
      for (const target of remaining) assert.ok(counts.get(target)! > 0);
    });
  });
}

describe("createSelector", () => {
  it("builds the configured algorithm, with its hashOn, and refuses an unknown one", () => {
    const byHeader = createSelector({ algorithm: "consistent-hash", hashOn: { header: "x-user" } });
    const targets = fleet([1, 1, 1, 1, 1, 1, 1, 1]);
    const alice = (n: number) => clientRequest(n, { headers: { "x-user": "alice" } });
    const first = byHeader.select(targets, alice(0));
    for (let n = 1; n < 50; n++) assert.equal(byHeader.select(targets, alice(n)), first);
    assert.throws(
      () => createSelector({ algorithm: "fastest" as Algorithm }),
      /unknown load-balancing algorithm "fastest"/,
    );
  });
});
