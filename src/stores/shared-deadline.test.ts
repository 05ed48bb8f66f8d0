// SharedDeadline: a call has its outcome or `timedOut` once the timeout has passed since
// it was made, whatever happened to earlier calls; one timer serves every call in flight.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { ManualClock } from "../upstream/clock.ts";
import { type DeadlineCall, SharedDeadline, timedOut } from "./shared-deadline.ts";

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

  it("expires tracked calls at their own deadlines, with one timer for all of them", () => {
    const clock = new ManualClock();
    const deadline = new SharedDeadline(100, clock);
    const expired: number[] = [];
    const calls: DeadlineCall[] = [];
    for (let i = 0; i < 5; i++) {
      const call: DeadlineCall = { expiresAt: 0, done: false, expire: () => expired.push(i) };
      deadline.track(call);
      calls.push(call);
      clock.advance(10);
    }
    assert.equal(clock.pending, 1, "one timer, however many calls are in flight");
    calls[1]!.done = true; // answered in time: never expired
    clock.advance(49); // 99ms after the first call
    assert.deepEqual(expired, []);
    clock.advance(1);
    assert.deepEqual(expired, [0]);
    assert.equal(calls[0]!.done, true, "the sweep marks what it expires");
    clock.advance(30);
    assert.deepEqual(expired, [0, 2, 3]);
    clock.advance(10);
    assert.deepEqual(expired, [0, 2, 3, 4]);
    assert.equal(clock.pending, 0, "no timer once nothing is in flight");
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
