// Unit tests for power-of-two choices: the less loaded of two distinct random targets.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { PowerOfTwoSelector } from "./power-of-two.ts";
import { clientRequest, destroyFleet, fleet, seededRandom } from "./test-fleet.ts";

after(destroyFleet);

describe("PowerOfTwoSelector", () => {
  it("compares two distinct targets and takes the less loaded", () => {
    const [a, b] = fleet([1, 1]);
    // Both draws are 0: the first is target 0, the second the first of the others.
    const selector = new PowerOfTwoSelector(() => 0);
    a!.inFlight = 5;
    b!.inFlight = 2;
    assert.equal(selector.select([a!, b!], clientRequest(0)), b);
    a!.inFlight = 1;
    assert.equal(selector.select([a!, b!], clientRequest(0)), a);
  });

  it("never picks the single most loaded target, as it always loses its comparison", () => {
    const targets = fleet([1, 1, 1, 1, 1]);
    targets[2]!.inFlight = 100;
    const selector = new PowerOfTwoSelector(seededRandom(9));
    for (let n = 0; n < 2_000; n++)
      assert.notEqual(selector.select(targets, clientRequest(n)), targets[2]);
  });

  it("takes the only available target without a comparison", () => {
    const [a, b, c] = fleet([1, 1, 1]);
    a!.health = "unhealthy";
    c!.health = "unhealthy";
    b!.inFlight = 1_000;
    assert.equal(new PowerOfTwoSelector(seededRandom(1)).select([a!, b!, c!], clientRequest(0)), b);
  });
});
