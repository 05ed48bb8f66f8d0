// Unit tests for the bucketed sliding window of outcomes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OutcomeWindow } from "./outcome-window.ts";

describe("OutcomeWindow", () => {
  it("counts requests, failures and slow calls", () => {
    const window = new OutcomeWindow(1_000);
    window.add(0, true, false);
    window.add(50, false, true);
    window.add(999, false, false);
    const { total, failures, slow } = window.tally(999);
    assert.deepEqual({ total, failures, slow }, { total: 3, failures: 1, slow: 1 });
  });

  it("drops each outcome once it is a window old, whatever the gaps in time", () => {
    const window = new OutcomeWindow(1_000);
    window.add(0, true, false);
    window.add(500, true, false);
    assert.equal(window.tally(999).total, 2);
    assert.equal(window.tally(1_000).total, 1);
    assert.equal(window.tally(1_500).total, 0);
    assert.equal(window.tally(1_000_000).total, 0);
    window.add(1_000_000, false, false);
    assert.equal(window.tally(1_000_000).total, 1, "a reused bucket starts from zero");
  });

  it("forgets everything on clear()", () => {
    const window = new OutcomeWindow(1_000);
    window.add(100, true, true);
    window.clear();
    assert.equal(window.tally(100).total, 0);
  });
});
