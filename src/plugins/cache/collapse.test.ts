import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Leader, MissCollapser } from "./collapse.ts";

describe("MissCollapser", () => {
  it("the first miss leads; the others wait until it releases", async () => {
    const collapser = new MissCollapser(5_000);
    const leader = collapser.join("k") as Leader;
    assert.ok(!(leader instanceof Promise));
    const waiting = collapser.join("k");
    assert.ok(waiting instanceof Promise);
    let woke = false;
    waiting.then(() => {
      woke = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(woke, false);
    leader.release();
    await waiting;
    // Released: the next miss leads again.
    assert.ok(!(collapser.join("k") instanceof Promise));
  });

  it("a wait is bounded: waiters go on their own once the timeout passes", async () => {
    const collapser = new MissCollapser(50);
    collapser.join("slow");
    const started = Date.now();
    await collapser.join("slow");
    const waited = Date.now() - started;
    assert.ok(waited >= 45 && waited < 1_000, `waited ${waited} ms`);
  });

  it("keys are independent, and a timeout of 0 turns collapsing off", () => {
    const collapser = new MissCollapser(1_000);
    collapser.join("a");
    assert.ok(!(collapser.join("b") instanceof Promise));
    assert.equal(new MissCollapser(0).enabled, false);
  });
});
