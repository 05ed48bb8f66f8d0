// A saga's durations are read once, when it is defined: text or milliseconds, and a bad
// value is refused there with what it belongs to.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { durationMs } from "./saga-options.ts";

describe("durationMs", () => {
  it("reads text and milliseconds", () => {
    assert.equal(durationMs("250ms", "x"), 250);
    assert.equal(durationMs("30s", "x"), 30_000);
    assert.equal(durationMs("1.5m", "x"), 90_000);
    assert.equal(durationMs(500, "x"), 500);
  });

  it("refuses what is not a positive duration, naming the option", () => {
    assert.throws(
      () => durationMs("30d", "lease"),
      /^TypeError: lease: "30d" is longer than 24 days$/,
    );
    for (const bad of ["soon", "", "-1s", 0, -5, Number.NaN]) {
      assert.throws(() => durationMs(bad, 'saga "order" lease'), {
        name: "TypeError",
        message: /^saga "order" lease: .* is not a duration/,
      });
    }
  });
});
