/**
 * @module test/integration/saga.case
 * What a saga does, whichever database holds its log: one suite, run on PostgreSQL
 * (saga-postgres.test.ts) and on PGlite (saga-pglite.test.ts). Compensation of exactly the
 * completed steps, in reverse; compensations retried with backoff; one run per idempotency
 * key, also for concurrent calls; step timeouts; interrupted sagas resumed by one process.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  type SagaClock,
  SagaError,
  type SagaOptions,
  type Store,
  saga,
  sdkMetrics,
} from "gatehouse-gateway/sdk";
import { SagaLog } from "../../src/sdk/saga/saga-log.ts";
import type { SagaBackend } from "./saga-backends.ts";

/** A clock whose sleeps return at once and are recorded; `now` can be moved. */
function testClock(offsetMs = 0) {
  const sleeps: number[] = [];
  const clock: SagaClock & { sleeps: number[] } = {
    sleeps,
    now: () => Date.now() + offsetMs,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  };
  return clock;
}

/** A value of one of the SDK's metrics, with these labels. */
async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const values = (await sdkMetrics.getSingleMetric(name)?.get())?.values ?? [];
  const found = values.find((value) =>
    Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted),
  );
  return found?.value ?? 0;
}

const never = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));

export function sagaSuite(open: () => Promise<SagaBackend>): void {
  let backend: SagaBackend;
  let db: Store;
  const closers: (() => Promise<void>)[] = [];
  /** A definition closed after the suite. */
  const define = <I>(name: string, options: Omit<SagaOptions, "db"> = {}) => {
    const definition = saga<I>(name, { db, ...options });
    closers.push(() => definition.close());
    return definition;
  };

  describe("sagas", () => {
    before(async () => {
      backend = await open();
      db = await backend.open("sagas");
    });

    after(async () => {
      for (const close of closers) await close();
      await db?.close();
      await backend?.teardown();
    });

    it("compensates exactly the completed steps, last first, when any step fails", async () => {
      const calls: string[] = [];
      const names = ["reserve", "charge", "ship", "confirm"];
      let definition = define<{ failAt: string }>("four-steps", { compensationBackoff: ["1ms"] });
      for (const name of names) {
        definition = definition.step(
          name,
          async (input) => {
            calls.push(`do ${name}`);
            if (input.failAt === name) throw Object.assign(new Error("no"), { code: "E_NO" });
            return `${name}-done`;
          },
          async (_input, ctx) => {
            calls.push(`undo ${name} (${ctx.output})`);
          },
        );
      }
      const runsBefore = await metric("gatehouse_saga_runs_total", {
        saga: "four-steps",
        status: "compensated",
      });
      for (const [index, failAt] of names.entries()) {
        calls.length = 0;
        const result = await definition.run({ failAt });
        const done = names.slice(0, index);
        assert.deepEqual(result, {
          id: result.id,
          status: "compensated",
          error: { step: failAt, message: "no", code: "E_NO" },
        });
        assert.deepEqual(calls, [
          ...done.map((name) => `do ${name}`),
          `do ${failAt}`,
          ...done.reverse().map((name) => `undo ${name} (${name}-done)`),
        ]);
        const status = await definition.status(result.id);
        assert.equal(status?.status, "compensated");
        assert.deepEqual(
          status?.steps.map((step) => [step.name, step.state, step.compensationAttempts]),
          [...names.slice(0, index).map((name) => [name, "compensated", 1]), [failAt, "failed", 0]],
        );
      }
      const runs = await metric("gatehouse_saga_runs_total", {
        saga: "four-steps",
        status: "compensated",
      });
      assert.equal(runs - runsBefore, 4);
      calls.length = 0;
      const completed = await definition.run({ failAt: "nothing" });
      assert.equal(completed.status, "completed");
      assert.deepEqual(completed.output, {
        reserve: "reserve-done",
        charge: "charge-done",
        ship: "ship-done",
        confirm: "confirm-done",
      });
      assert.deepEqual(calls, ["do reserve", "do charge", "do ship", "do confirm"]);
    });

    it("gives each step the input, the earlier outputs and a key that stays the same", async () => {
      const seen: unknown[] = [];
      const definition = define<{ orderId: string }>("context")
        .step("first", async (input) => ({ order: input.orderId }))
        .step("second", async (input, ctx) => {
          seen.push({ input, ...ctx, signal: ctx.signal instanceof AbortSignal });
          return ctx.outputs.first.order;
        });
      const result = await definition.run({ orderId: "o-1" }, { id: "saga-context-1" });
      assert.deepEqual(result.output, { first: { order: "o-1" }, second: "o-1" });
      assert.deepEqual(seen, [
        {
          input: { orderId: "o-1" },
          sagaId: "saga-context-1",
          step: "second",
          attempt: 1,
          idempotencyKey: "saga-context-1:second",
          signal: true,
          outputs: { first: { order: "o-1" } },
        },
      ]);
    });

    it("retries a failing compensation with backoff until it succeeds", async () => {
      const clock = testClock();
      let stuckWhileWaiting = -1;
      clock.sleep = async (ms) => {
        clock.sleeps.push(ms);
        stuckWhileWaiting = await metric("gatehouse_saga_stuck", { saga: "flaky-refund" });
      };
      const attempts: number[] = [];
      const retriesBefore = await metric("gatehouse_saga_compensation_retries_total", {
        saga: "flaky-refund",
        step: "charge",
      });
      const definition = define("flaky-refund", { clock })
        .step(
          "charge",
          async () => "charged",
          async (_input, ctx) => {
            attempts.push(ctx.attempt);
            if (ctx.attempt <= 2) throw new Error(`refund unavailable (${ctx.attempt})`);
          },
        )
        .step("confirm", async () => {
          throw new Error("confirmation refused");
        });
      const result = await definition.run({});
      assert.equal(result.status, "compensated");
      assert.deepEqual(result.error, { step: "confirm", message: "confirmation refused" });
      assert.deepEqual(attempts, [1, 2, 3]);
      assert.deepEqual(clock.sleeps, [100, 1000], "the default backoff, first two waits");
      assert.equal(stuckWhileWaiting, 1, "stuck while its compensation is being retried");
      assert.equal(await metric("gatehouse_saga_stuck", { saga: "flaky-refund" }), 0);
      const retries = await metric("gatehouse_saga_compensation_retries_total", {
        saga: "flaky-refund",
        step: "charge",
      });
      assert.equal(retries - retriesBefore, 2);
      const status = await definition.status(result.id);
      assert.deepEqual(
        status?.steps.map(({ name, state, compensationAttempts }) => ({
          name,
          state,
          compensationAttempts,
        })),
        [
          { name: "charge", state: "compensated", compensationAttempts: 3 },
          { name: "confirm", state: "failed", compensationAttempts: 0 },
        ],
      );
    });

    it("gives up as failed after maxCompensationAttempts, leaving earlier steps as they are", async () => {
      const clock = testClock();
      const definition = define("hopeless-refund", { clock, maxCompensationAttempts: 3 })
        .step(
          "reserve",
          async () => "reserved",
          async () => {},
        )
        .step(
          "charge",
          async () => "charged",
          async () => {
            throw new Error("card network down");
          },
        )
        .step("confirm", async () => {
          throw new Error("refused");
        });
      const result = await definition.run({});
      assert.equal(result.status, "failed");
      assert.deepEqual(result.error, {
        step: "charge",
        message: "compensation failed 3 times, the last with: card network down",
        code: "GATEHOUSE_SAGA_COMPENSATION_FAILED",
      });
      assert.deepEqual(clock.sleeps, [100, 1000]);
      const status = await definition.status(result.id);
      assert.equal(status?.status, "failed");
      assert.deepEqual(
        status?.steps.map((step) => [step.name, step.state]),
        [
          ["reserve", "done"],
          ["charge", "compensating"],
          ["confirm", "failed"],
        ],
      );
      assert.deepEqual(status?.steps[1]?.error, { message: "card network down" });
    });

    it("runs a saga once per idempotency key and answers every call with its result", async () => {
      let runs = 0;
      const definition = define<{ amount: number }>("pay-once").step("charge", async (input) => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 30));
        return { charged: input.amount };
      });
      const first = await definition.run({ amount: 5 }, { idempotencyKey: "order-1" });
      const again = await definition.run({ amount: 5 }, { idempotencyKey: "order-1" });
      assert.equal(runs, 1);
      assert.deepEqual(again, first);
      assert.deepEqual(first.output, { charge: { charged: 5 } });

      const concurrent = await Promise.all(
        Array.from({ length: 10 }, () =>
          definition.run({ amount: 7 }, { idempotencyKey: "order-2" }),
        ),
      );
      assert.equal(runs, 2);
      for (const result of concurrent) assert.deepEqual(result, concurrent[0]);
    });

    it("runs a saga once per idempotency key across two processes' definitions", async () => {
      let runs = 0;
      const slowCharge = async () => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 100));
        return "charged";
      };
      // Two definitions of one saga, each its own owner, as two processes would hold.
      const one = define("pay-once-shared").step("charge", slowCharge);
      const two = define("pay-once-shared").step("charge", slowCharge);
      const results = await Promise.all(
        [one, two, one, two].map((definition) => definition.run({}, { idempotencyKey: "order-3" })),
      );
      assert.equal(runs, 1);
      for (const result of results) assert.deepEqual(result, results[0]);
      assert.equal(results[0]!.status, "completed");

      // A compensated saga is answered as compensated, without running again.
      const failing = define("refuse-once").step("charge", async () => {
        runs++;
        throw new Error("declined");
      });
      const refused = await failing.run({}, { idempotencyKey: "order-4" });
      assert.deepEqual(await failing.run({}, { idempotencyKey: "order-4" }), refused);
      assert.equal(runs, 2);
    });

    it("times a step out: its signal aborts, and it is compensated with the steps before it", async () => {
      const undone: string[] = [];
      let aborted: unknown;
      const definition = define("slow-warehouse")
        .step(
          "reserve",
          async () => "reserved",
          async () => {
            undone.push("reserve");
          },
        )
        .step(
          "ship",
          (_input, ctx) => {
            ctx.signal.addEventListener("abort", () => {
              aborted = ctx.signal.reason;
            });
            return never(ctx.signal);
          },
          async (_input, ctx) => {
            undone.push(`ship (output ${ctx.output})`);
          },
          { timeout: "50ms" },
        );
      const started = Date.now();
      const result = await definition.run({});
      assert.ok(Date.now() - started < 5_000);
      assert.equal(result.status, "compensated");
      assert.deepEqual(result.error, {
        step: "ship",
        message: 'step "ship" did not finish within 50 ms',
        code: "GATEHOUSE_SAGA_STEP_TIMEOUT",
      });
      assert.ok(aborted instanceof SagaError);
      assert.equal(aborted.code, "GATEHOUSE_SAGA_STEP_TIMEOUT");
      assert.deepEqual(undone, ["ship (output undefined)", "reserve"]);
      const status = await definition.status(result.id);
      assert.deepEqual(
        status?.steps.map((step) => step.state),
        ["compensated", "compensated"],
      );
    });

    it("resumes an interrupted saga in one process only, rerunning the step it was in", async () => {
      const calls: string[] = [];
      let entered: () => void;
      const inStep = new Promise<void>((resolve) => {
        entered = resolve;
      });
      const steps = <I>(definition: ReturnType<typeof define<I>>, who: string) =>
        definition
          .step("reserve", async () => {
            calls.push(`${who} reserve`);
            return 1;
          })
          .step("charge", async (_input, ctx) => {
            calls.push(`${who} charge #${ctx.attempt}`);
            if (who === "first") {
              entered();
              return never(ctx.signal);
            }
            return 2;
          });
      const first = steps(define("interrupted", { lease: "1h" }), "first");
      const running = first.run({}, { id: "saga-interrupted-1" });
      await inStep;
      // The process dies here: it writes nothing more, and its lease has not run out.
      await first.close();
      await assert.rejects(running, { code: "GATEHOUSE_SAGA_CLOSED" });
      assert.equal((await first.status("saga-interrupted-1"))?.status, "running");

      // Two processes an hour and a half later, both looking for interrupted sagas at once.
      const later = { lease: "1h", clock: testClock(90 * 60_000) };
      const second = steps(define("interrupted", later), "second");
      const third = steps(define("interrupted", later), "third");
      const taken = await Promise.all([second.resume(), third.resume()]);
      assert.equal(taken[0] + taken[1], 1, "one of them takes the saga over");
      const result = await second.run({}, { id: "saga-interrupted-1" });
      assert.equal(result.status, "completed");
      assert.deepEqual(result.output, { reserve: 1, charge: 2 });
      const charges = calls.filter((call) => call.includes("charge"));
      assert.equal(charges.length, 2, `the step ran once more, not twice: ${charges}`);
      assert.match(charges[1]!, /charge #2$/);
      assert.equal(calls.filter((call) => call.includes("reserve")).length, 1);
      const status = await second.status("saga-interrupted-1");
      assert.deepEqual(
        status?.steps.map((step) => [step.name, step.state, step.attempts]),
        [
          ["reserve", "done", 1],
          ["charge", "done", 2],
        ],
      );
    });

    it("lets one owner of many claim a saga whose lease ran out, and none while it holds", async () => {
      const now = Date.now();
      const dead = new SagaLog(db, "claimed", "dead-process");
      assert.equal(await dead.create("saga-claim-1", undefined, {}, now + 60_000), true);
      const owners = Array.from({ length: 5 }, (_, i) => new SagaLog(db, "claimed", `owner-${i}`));
      const early = await Promise.all(owners.map((log) => log.claim("saga-claim-1", now, now + 1)));
      assert.equal(early.filter(Boolean).length, 0, "nobody while the lease holds");
      const later = now + 120_000;
      const claims = await Promise.all(
        owners.map((log) => log.claim("saga-claim-1", later, later + 60_000)),
      );
      assert.equal(claims.filter(Boolean).length, 1, "exactly one owner takes it");
      await assert.rejects(dead.startStep("saga-claim-1", 0, "a", later), {
        name: "SagaAbandoned",
      });
    });

    it("compensates a resumed step that then fails, since its first run may have done its work", async () => {
      const undone: string[] = [];
      let entered: () => void;
      const inStep = new Promise<void>((resolve) => {
        entered = resolve;
      });
      const define2 = (options: Omit<SagaOptions, "db">, failing: boolean) =>
        define("interrupted-then-declined", options)
          .step(
            "reserve",
            async () => "r",
            async () => {
              undone.push("reserve");
            },
          )
          .step(
            "charge",
            async (_input, ctx) => {
              if (!failing) {
                entered();
                return never(ctx.signal);
              }
              throw new Error("declined");
            },
            async (_input, ctx) => {
              undone.push(`charge #${ctx.attempt}`);
            },
          );
      const first = define2({ lease: "1h" }, false);
      const running = first.run({}, { id: "saga-declined-1" });
      await inStep;
      // Closing rejects the pending run(): listened to before the close, not after.
      const stopped = assert.rejects(running, { code: "GATEHOUSE_SAGA_CLOSED" });
      await first.close();
      await stopped;
      const second = define2({ lease: "1h", clock: testClock(2 * 3_600_000) }, true);
      const result = await second.run({}, { id: "saga-declined-1" });
      assert.equal(result.status, "compensated");
      assert.deepEqual(result.error, { step: "charge", message: "declined" });
      assert.deepEqual(undone, ["charge #1", "reserve"]);
    });

    it("fails an interrupted saga whose steps the definition no longer has", async () => {
      let entered: () => void;
      const inStep = new Promise<void>((resolve) => {
        entered = resolve;
      });
      const old = define("renamed-steps", { lease: "1h" }).step("pay", (_input, ctx) => {
        entered();
        return never(ctx.signal);
      });
      const running = old.run({}, { id: "saga-renamed-1" });
      await inStep;
      // Closing rejects the pending run(): listened to before the close, not after.
      const stopped = assert.rejects(running, { code: "GATEHOUSE_SAGA_CLOSED" });
      await old.close();
      await stopped;
      let ran = false;
      const renamed = define("renamed-steps", {
        lease: "1h",
        clock: testClock(2 * 3_600_000),
      }).step("charge", async () => {
        ran = true;
      });
      const result = await renamed.run({}, { id: "saga-renamed-1" });
      assert.equal(ran, false);
      assert.equal(result.status, "failed");
      assert.equal(result.error?.code, "GATEHOUSE_SAGA_DEFINITION_CHANGED");
    });

    it("compensates a step whose output the log cannot keep: its work was done", async () => {
      const undone: string[] = [];
      const definition = define("unloggable").step(
        "count",
        async () => 10n,
        async () => {
          undone.push("count");
        },
      );
      const result = await definition.run({});
      assert.equal(result.status, "compensated");
      assert.match(result.error?.message ?? "", /^the step's output is not JSON: /);
      assert.deepEqual(undone, ["count"]);
    });

    it("refuses an id held by a saga of another name, and bad definitions when defined", async () => {
      const one = define("named-one").step("a", async () => 1);
      const other = define("named-other").step("a", async () => 1);
      await one.run({}, { id: "saga-shared-id" });
      await assert.rejects(other.run({}, { id: "saga-shared-id" }), {
        name: "SagaError",
        code: "GATEHOUSE_SAGA_ID_CONFLICT",
      });
      assert.equal(await other.status("saga-shared-id"), undefined);
      assert.throws(
        () => define("bad", { stepTimeout: "soon" }),
        /stepTimeout: "soon" is not a duration/,
      );
      assert.throws(
        () =>
          define("dup")
            .step("a", async () => 1)
            .step("a", async () => 2),
        /already a step "a"/,
      );
      await assert.rejects(define("empty").run({}), /has no steps/);
    });
  });
}
