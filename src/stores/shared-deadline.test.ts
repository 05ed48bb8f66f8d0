// SharedDeadline: a call has its outcome or `timedOut` at the deadline of the turn it was
// made in, whatever happened to earlier calls; one timer serves a whole turn.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { ManualClock } from "../upstream/clock.ts";
import { SharedDeadline, timedOut } from "./shared-deadline.ts";

const never = () => new Promise<string>(() => {});

/** Whether `promise` has settled, and with what, once pending callbacks have run. */
async function outcome<T>(promise: Promise<T>): Promise<T | "pending"> {
  return Promise.race([promise, nextTurn().then(() => "pending" as const)]);
}

describe("SharedDeadline", () => {
  it("answers what the call settles with, when it settles in time", async () => {
    const deadline = new SharedDeadline(100, new ManualClock());
    assert.equal(await deadline.within(Promise.resolve("reply")), "reply");
    await assert.rejects(deadline.within(Promise.reject(new Error("NOSCRIPT"))), /NOSCRIPT/);
  });

  it("answers timedOut once the timeout has passed since the call, not before", async () => {
    const clock = new ManualClock();
    const deadline = new SharedDeadline(100, clock);
    const call = deadline.within(never());
    clock.advance(99);
    assert.equal(await outcome(call), "pending");
    clock.advance(1);
    assert.equal(await outcome(call), timedOut);
  });

  it("gives a call made in a later turn its own deadline, however long earlier calls wait", async () => {
    const clock = new ManualClock();
    const deadline = new SharedDeadline(100, clock);
    const first = deadline.within(never());
    const sameTurn = deadline.within(never());
    await nextTurn();
    clock.advance(60);
    const later = deadline.within(never());
    clock.advance(40);
    assert.equal(await outcome(first), timedOut);
    assert.equal(await outcome(sameTurn), timedOut, "the turn's calls share one deadline");
    assert.equal(await outcome(later), "pending", "60ms after the first call is not its deadline");
    clock.advance(60);
    assert.equal(await outcome(later), timedOut);
  });
});
