// One attempt under its timeout: answered at the timeout whether or not the function heeds
// its signal, stopped by the runner's signal, and a function's own failure passed through.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { withStepTimeout } from "./step-timeout.ts";

const forever = () => new Promise<never>(() => {});

describe("withStepTimeout", () => {
  it("answers what the function answers, before its time is up", async () => {
    const stop = new AbortController();
    assert.equal(await withStepTimeout(async () => 42, 1_000, stop.signal, "step"), 42);
  });

  it("passes a throw through, also a synchronous one", async () => {
    const stop = new AbortController();
    await assert.rejects(
      withStepTimeout(async () => Promise.reject(new Error("no")), 1_000, stop.signal, "step"),
      /^Error: no$/,
    );
    await assert.rejects(
      withStepTimeout(
        () => {
          throw new Error("at once");
        },
        1_000,
        stop.signal,
        "step",
      ),
      /at once/,
    );
  });

  it("times out a function that ignores its signal, and aborts the signal", async () => {
    const stop = new AbortController();
    let signal: AbortSignal | undefined;
    const started = Date.now();
    await assert.rejects(
      withStepTimeout(
        (given) => {
          signal = given;
          return forever();
        },
        30,
        stop.signal,
        'step "ship"',
      ),
      { code: "GATEHOUSE_SAGA_STEP_TIMEOUT", message: 'step "ship" did not finish within 30 ms' },
    );
    assert.ok(Date.now() - started < 1_000);
    assert.equal(signal?.aborted, true);
  });

  it("stops with the runner's reason when the runner stops first", async () => {
    const stop = new AbortController();
    const running = withStepTimeout(forever, 10_000, stop.signal, "step");
    stop.abort(new Error("closed"));
    await assert.rejects(running, /closed/);
    await assert.rejects(
      withStepTimeout(async () => 1, 10_000, stop.signal, "step"),
      /closed/,
    );
  });
});
