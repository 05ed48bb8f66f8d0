// Retry rules and the retry budget, without sockets.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { retriesSchema } from "../config/schema/upstream.ts";
import { ManualClock } from "./clock.ts";
import { RetryBudget, RetryPolicy } from "./retry.ts";
import { destroyFleet, fleet } from "./selectors/test-fleet.ts";

after(destroyFleet);

const policy = (config: object = {}, random = () => 0.5) =>
  new RetryPolicy(retriesSchema.parse(config), random);

describe("RetryPolicy", () => {
  it("retries listed failures for idempotent methods, and connect failures for any method", () => {
    const p = policy();
    assert.equal(p.retriesFailure("reset", "GET"), true);
    assert.equal(p.retriesFailure("reset", "POST"), false);
    assert.equal(p.retriesFailure("connect-failure", "POST"), true);
    assert.equal(p.retriesFailure("server-error", "GET"), false, "statuses are listed by number");
    assert.equal(p.retriesStatus(503, "GET"), true);
    assert.equal(p.retriesStatus(500, "GET"), false);
    assert.equal(p.retriesStatus(503, "PATCH"), false);
    assert.equal(policy({ retryNonIdempotent: true }).retriesStatus(503, "POST"), true);
    assert.equal(policy({ on: [500] }).retriesFailure("connect-failure", "GET"), false);
  });

  it("retries gRPC calls on connect failures and UNAVAILABLE as `on` lists them, whatever the method", () => {
    assert.equal(policy().retriesGrpc("unavailable"), true);
    assert.equal(policy().retriesGrpc("connect-failure"), true);
    const connectOnly = policy({ on: ["connect-failure"] });
    assert.equal(connectOnly.retriesGrpc("unavailable"), false);
    assert.equal(connectOnly.retriesGrpc("connect-failure"), true);
    assert.equal(policy({ on: ["unavailable"] }).retriesFailure("reset", "GET"), false);
  });

  it("backs off exponentially with full jitter, capped", () => {
    const top = policy({ backoff: { base: "10ms", max: "50ms" } }, () => 0.999);
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => top.backoff(n)),
      [9, 19, 39, 49, 49],
    );
    assert.equal(policy({}, () => 0).backoff(3), 0);
  });
});

describe("RetryPolicy: retries outside the budget", () => {
  it("after a connect failure, or a failure on a target that is out of rotation (not in panic)", () => {
    const p = policy();
    const clock = new ManualClock();
    const [target] = fleet([1], clock);
    assert.equal(p.retryIsFree("connect-failure", target!), true, "it never reached the upstream");
    for (const kind of ["timeout", "reset", "server-error"] as const)
      assert.equal(p.retryIsFree(kind, target!), false, `${kind} on a target in rotation`);
    target!.ejectedUntil = 1_000;
    assert.equal(p.retryIsFree("timeout", target!), true, "its target was ejected");
    target!.ignoreHealth = true;
    assert.equal(p.retryIsFree("timeout", target!), false, "in panic nothing is out of rotation");
    target!.ignoreHealth = false;
    target!.ejectedUntil = 0;
    target!.health = "unhealthy";
    assert.equal(p.retryIsFree("server-error", target!), true, "its target is unhealthy");
  });
});

describe("RetryBudget", () => {
  it("hasRoom asks without taking a slot: a retry waiting out its backoff holds none", () => {
    const budget = new RetryBudget(0.2, 1);
    budget.requestStarted();
    assert.deepEqual([budget.hasRoom(), budget.hasRoom()], [true, true]);
    assert.equal(budget.retriesInFlight, 0);
    assert.equal(budget.tryStartRetry(), true);
    assert.equal(budget.hasRoom(), false);
    assert.equal(budget.tryStartRetry(), false);
  });

  it("allows minRetries in flight, then a share of requests in flight", () => {
    const budget = new RetryBudget(0.2, 2);
    for (let i = 0; i < 20; i++) budget.requestStarted();
    const taken = [1, 2, 3, 4, 5].map(() => budget.tryStartRetry());
    assert.deepEqual(taken, [true, true, true, true, false], "20% of 20 is 4");
    budget.retryEnded();
    assert.equal(budget.tryStartRetry(), true);
    const small = new RetryBudget(0.2, 2);
    small.requestStarted();
    assert.deepEqual(
      [small.tryStartRetry(), small.tryStartRetry(), small.tryStartRetry()],
      [true, true, false],
    );
  });
});
