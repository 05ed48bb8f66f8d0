// Unit tests for the circuit breaker state machine, driven by a manual clock.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { circuitBreakerSchema } from "../config/schema/upstream.ts";
import { CircuitBreaker } from "./breaker.ts";
import { ManualClock } from "./clock.ts";
import type { Outcome } from "./outcome.ts";

const ok: Outcome = { kind: "success", durationMs: 10 };
const fail: Outcome = { kind: "server-error", durationMs: 10 };
const slowOk: Outcome = { kind: "success", durationMs: 900 };

/** A breaker with a 10s window of 1s buckets, opening at 50% failures over 4 requests. */
function breaker(options: Record<string, unknown> = {}) {
  const clock = new ManualClock();
  const config = circuitBreakerSchema.parse({
    window: "10s",
    minRequests: 4,
    failureRatio: 0.5,
    openDuration: "1s",
    maxOpenDuration: "5s",
    halfOpenRequests: 2,
    ...options,
  });
  return { clock, breaker: new CircuitBreaker(config, clock) };
}

/** Records `outcomes` through the breaker the way a proxied try does. */
function send(b: CircuitBreaker, ...outcomes: Outcome[]): void {
  for (const outcome of outcomes) {
    b.onDispatch();
    b.record(outcome);
  }
}

/** Trips the breaker open from closed. */
function trip(b: CircuitBreaker): void {
  send(b, fail, fail, fail, fail);
  assert.equal(b.state, "open");
}

describe("CircuitBreaker: closed → open", () => {
  it("starts closed and permits", () => {
    const { breaker: b } = breaker();
    assert.equal(b.state, "closed");
    assert.equal(b.permits(), true);
  });

  it("opens at the request that brings the window to minRequests with the ratio reached", () => {
    const { breaker: b, clock } = breaker();
    send(b, ok, fail);
    clock.advance(1_000);
    send(b, fail);
    assert.equal(b.state, "closed", "3 requests are below minRequests");
    send(b, ok);
    assert.equal(b.state, "open", "2 failures of 4 is 50%");
    assert.equal(b.permits(), false);
  });

  it("does not open below minRequests, however many of them failed", () => {
    const { breaker: b } = breaker({ minRequests: 10 });
    send(b, ...Array<Outcome>(9).fill(fail));
    assert.equal(b.state, "closed");
    send(b, fail);
    assert.equal(b.state, "open");
  });

  it("does not open below the failure ratio", () => {
    const { breaker: b } = breaker();
    send(b, fail, ok, ok, ok, fail, ok, ok, ok);
    assert.equal(b.state, "closed");
  });

  it("counts every kind of failure: connect failure, timeout, reset, 5xx", () => {
    const { breaker: b } = breaker();
    for (const kind of ["connect-failure", "timeout", "reset"] as const)
      send(b, { kind, durationMs: 1 });
    assert.equal(b.state, "closed");
    send(b, fail);
    assert.equal(b.state, "open");
  });

  it("opens on the slow-call ratio when slowCallDuration is set", () => {
    const { breaker: b } = breaker({ slowCallDuration: "500ms", slowCallRatio: 0.75 });
    send(b, slowOk, slowOk, ok);
    assert.equal(b.state, "closed");
    send(b, slowOk);
    assert.equal(b.state, "open", "3 slow of 4 is 75%");
  });

  it("ignores slowness when slowCallDuration is 0s", () => {
    const { breaker: b } = breaker({ slowCallRatio: 0.1 });
    send(b, slowOk, slowOk, slowOk, slowOk, slowOk);
    assert.equal(b.state, "closed");
    assert.equal(b.snapshot().slowCalls, 0);
  });

  it("lets old outcomes fall out of the window as the clock moves", () => {
    const { breaker: b, clock } = breaker();
    send(b, fail, fail, fail);
    clock.advance(9_999);
    assert.equal(b.snapshot().failures, 3, "still inside the 10s window");
    clock.advance(1);
    assert.equal(b.snapshot().requests, 0, "10s later they are gone");
    send(b, fail);
    assert.equal(b.state, "closed", "one failure in the window, not four");
  });

  it("slides: outcomes spread over the window all count until each one ages out", () => {
    const { breaker: b, clock } = breaker({ minRequests: 3, failureRatio: 1 });
    send(b, fail);
    clock.advance(4_000);
    send(b, fail);
    clock.advance(5_000);
    assert.equal(b.snapshot().failures, 2);
    clock.advance(1_000);
    assert.equal(b.snapshot().failures, 1, "the first failure is 10s old");
    send(b, fail);
    assert.equal(b.state, "closed");
    send(b, fail);
    assert.equal(b.state, "open");
  });
});

describe("CircuitBreaker: open → half-open → closed", () => {
  it("half-opens when openDuration has passed, with no call needed to move it", () => {
    const { breaker: b, clock } = breaker();
    trip(b);
    assert.equal(b.snapshot().halfOpensInMs, 1_000);
    clock.advance(999);
    assert.equal(b.state, "open");
    assert.equal(b.permits(), false);
    clock.advance(1);
    assert.equal(b.state, "half-open");
    assert.equal(b.permits(), true);
    assert.equal(b.snapshot().openUntil, null);
  });

  it("admits halfOpenRequests probes; permits() alone never takes a slot", () => {
    const { breaker: b, clock } = breaker({ halfOpenRequests: 2 });
    trip(b);
    clock.advance(1_000);
    for (let i = 0; i < 100; i++) assert.equal(b.permits(), true);
    b.onDispatch();
    assert.equal(b.permits(), true);
    b.onDispatch();
    assert.equal(b.permits(), false, "both slots taken");
    assert.equal(b.state, "half-open");
  });

  it("closes when every probe succeeds, with a clean window", () => {
    const { breaker: b, clock } = breaker({ halfOpenRequests: 2 });
    trip(b);
    clock.advance(1_000);
    send(b, ok);
    assert.equal(b.state, "half-open");
    send(b, ok);
    assert.equal(b.state, "closed");
    assert.equal(b.snapshot().requests, 0);
    send(b, fail, fail, fail);
    assert.equal(b.state, "closed", "the failures that tripped it are forgotten");
  });

  it("counts health-check outcomes (record without dispatch) as probes", () => {
    const { breaker: b, clock } = breaker({ halfOpenRequests: 2 });
    trip(b);
    clock.advance(1_000);
    b.record(ok);
    b.record(ok);
    assert.equal(b.state, "closed");
  });

  it("ignores outcomes while open: late answers to tries sent before it opened", () => {
    const { breaker: b, clock } = breaker();
    trip(b);
    b.record(ok);
    b.record(ok);
    b.record(ok);
    clock.advance(1_000);
    assert.equal(b.state, "half-open");
    assert.equal(b.permits(), true);
  });

  it("frees the slots of probes that never report, after openDuration", () => {
    const { breaker: b, clock } = breaker({ halfOpenRequests: 1 });
    trip(b);
    clock.advance(1_000);
    b.onDispatch();
    assert.equal(b.permits(), false);
    clock.advance(999);
    assert.equal(b.permits(), false);
    clock.advance(1);
    assert.equal(b.permits(), true, "the lost probe's slot is free again");
    b.onDispatch();
    assert.equal(b.permits(), false);
    b.record(ok);
    assert.equal(b.state, "closed");
  });
});

describe("CircuitBreaker: reopening", () => {
  it("reopens on a failed probe for twice as long each time, capped at maxOpenDuration", () => {
    const { breaker: b, clock } = breaker({ openDuration: "1s", maxOpenDuration: "5s" });
    trip(b);
    const durations: number[] = [];
    for (let i = 0; i < 5; i++) {
      durations.push(b.snapshot().halfOpensInMs!);
      clock.advance(durations.at(-1)!);
      assert.equal(b.state, "half-open");
      send(b, fail);
      assert.equal(b.state, "open");
    }
    durations.push(b.snapshot().halfOpensInMs!);
    assert.deepEqual(durations, [1_000, 2_000, 4_000, 5_000, 5_000, 5_000]);
  });

  it("reopens when a probe is slow and slow calls are counted", () => {
    const { breaker: b, clock } = breaker({ slowCallDuration: "500ms" });
    trip(b);
    clock.advance(1_000);
    send(b, slowOk);
    assert.equal(b.state, "open");
    assert.equal(b.snapshot().halfOpensInMs, 2_000);
  });

  it("any failure among the probes reopens, even after some succeeded", () => {
    const { breaker: b, clock } = breaker({ halfOpenRequests: 3 });
    trip(b);
    clock.advance(1_000);
    send(b, ok, ok, fail);
    assert.equal(b.state, "open");
  });

  it("starts again from openDuration after closing", () => {
    const { breaker: b, clock } = breaker({ halfOpenRequests: 1 });
    trip(b);
    clock.advance(1_000);
    send(b, fail);
    assert.equal(b.snapshot().halfOpensInMs, 2_000);
    clock.advance(2_000);
    send(b, ok);
    assert.equal(b.state, "closed");
    trip(b);
    assert.equal(b.snapshot().halfOpensInMs, 1_000);
  });
});
