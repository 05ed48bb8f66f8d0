// Unit tests for passive health checks (outlier detection), driven by a manual clock.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { defaultPassiveCheck, healthCheckSchema } from "../../config/schema/upstream.ts";
import { ManualClock } from "../clock.ts";
import type { Outcome } from "../outcome.ts";
import { destroyFleet, fleet } from "../selectors/test-fleet.ts";
import type { Target } from "../target.ts";
import { OutlierDetector } from "./outlier.ts";

after(destroyFleet);

/** `count` targets and a detector over them, with small numbers and 1s/3s ejections. */
function service(count: number, passive: Record<string, unknown> = {}) {
  const clock = new ManualClock();
  const targets = fleet(
    Array.from({ length: count }, () => 1),
    clock,
  );
  const config = healthCheckSchema.parse({
    passive: {
      consecutiveFailures: 3,
      baseEjection: "1s",
      maxEjection: "3s",
      maxEjectionPercent: 100,
      ...passive,
    },
  }).passive!;
  const detector = new OutlierDetector(config, clock, () => targets);
  for (const target of targets) target.observers.add(detector.observe);
  return { clock, targets, detector };
}

/** Reports outcomes as the proxy does: a fresh outcome object for each try. */
function report(target: Target, ...kinds: Outcome["kind"][]): void {
  for (const kind of kinds) target.onOutcome({ kind, durationMs: 5 });
}

const fails = (n: number) => Array<Outcome["kind"]>(n).fill("server-error");

describe("OutlierDetector: consecutive failures", () => {
  it("ejects at the configured number of failures in a row", () => {
    const {
      targets: [target],
    } = service(2);
    report(target!, ...fails(2));
    assert.equal(target!.available(), true);
    report(target!, "connect-failure");
    assert.equal(target!.available(), false);
    assert.equal(target!.ejections, 1);
  });

  it("starts counting again after a success", () => {
    const {
      targets: [target],
    } = service(2);
    report(target!, ...fails(2), "success", ...fails(2));
    assert.equal(target!.available(), true);
    report(target!, "timeout");
    assert.equal(target!.available(), false);
  });

  it("brings the target back when the ejection ends, with its counters reset", () => {
    const {
      clock,
      targets: [target],
    } = service(2);
    report(target!, ...fails(3));
    clock.advance(999);
    assert.equal(target!.available(), false);
    clock.advance(1);
    assert.equal(target!.available(), true);
    report(target!, ...fails(2));
    assert.equal(target!.ejectedUntil, 0, "cleared at its first outcome back in service");
    assert.equal(target!.available(), true, "failures from before the ejection do not count");
    report(target!, "reset");
    assert.equal(target!.available(), false);
  });

  it("ignores outcomes that arrive while the target is ejected", () => {
    const {
      clock,
      targets: [target],
    } = service(2);
    report(target!, ...fails(3));
    report(target!, ...fails(10));
    assert.equal(target!.ejections, 1);
    clock.advance(1_000);
    report(target!, ...fails(2));
    assert.equal(target!.available(), true);
  });
});

describe("OutlierDetector: failure ratio", () => {
  it("ejects when the ratio in the window is reached over at least minRequests", () => {
    const {
      targets: [target],
    } = service(2, {
      consecutiveFailures: 100,
      failureRatio: 0.5,
      minRequests: 4,
    });
    report(target!, "server-error", "success", "server-error");
    assert.equal(target!.available(), true, "3 requests are below minRequests");
    report(target!, "success");
    assert.equal(target!.available(), false, "2 of 4 failed");
  });

  it("forgets failures older than the window", () => {
    const {
      clock,
      targets: [target],
    } = service(2, {
      consecutiveFailures: 100,
      failureRatio: 0.5,
      minRequests: 4,
      window: "10s",
    });
    report(target!, "server-error", "server-error", "success");
    clock.advance(10_000);
    report(target!, "success", "success", "server-error", "success");
    assert.equal(target!.available(), true, "1 of 4 in the window failed");
  });

  it("is off unless failureRatio is set", () => {
    const {
      targets: [target],
    } = service(2, { consecutiveFailures: 100, minRequests: 1 });
    for (let i = 0; i < 50; i++) report(target!, "server-error", "success");
    assert.equal(target!.available(), true);
  });
});

describe("OutlierDetector: ejection time", () => {
  it("grows with the number of ejections and is capped at maxEjection", () => {
    const {
      clock,
      targets: [target],
    } = service(2);
    const durations: number[] = [];
    for (let i = 0; i < 5; i++) {
      report(target!, ...fails(3));
      durations.push(target!.ejectedUntil - clock.now());
      clock.advance(durations.at(-1)!);
    }
    assert.deepEqual(durations, [1_000, 2_000, 3_000, 3_000, 3_000]);
    assert.equal(target!.ejections, 5);
  });

  it("forgives one ejection for each maxEjection spent in service without one", () => {
    const {
      clock,
      targets: [target],
    } = service(2);
    report(target!, ...fails(3));
    clock.advance(1_000);
    report(target!, ...fails(3));
    clock.advance(2_000);
    assert.equal(target!.ejections, 2);
    clock.advance(3_000);
    report(target!, "success");
    assert.equal(target!.ejections, 1, "one clean maxEjection (3s) since it came back");
    clock.advance(30_000);
    report(target!, ...fails(3));
    assert.equal(target!.ejections, 1, "fully forgiven, so this is a first ejection again");
    assert.equal(target!.ejectedUntil - clock.now(), 1_000);
  });
});

describe("OutlierDetector: maxEjectionPercent", () => {
  it("never ejects more than the allowed share, and ejects once room is made", () => {
    const { clock, targets } = service(4, { maxEjectionPercent: 50 });
    const [a, b, c] = targets as [Target, Target, Target];
    report(a, ...fails(3));
    clock.advance(500);
    report(b, ...fails(3));
    report(c, ...fails(3));
    assert.deepEqual(
      targets.map((t) => t.available()),
      [false, false, true, true],
      "2 of 4 is the 50% cap",
    );
    report(c, "server-error");
    assert.equal(c.available(), true, "still refused while two are out");
    clock.advance(500);
    assert.equal(a.available(), true, "a's 1s ejection is over");
    report(c, "server-error");
    assert.equal(c.available(), false, "the next failure ejects c");
  });

  it("does not eject the only target of a service under 100%", () => {
    const {
      targets: [only],
    } = service(1, { maxEjectionPercent: 99 });
    report(only!, ...fails(10));
    assert.equal(only!.available(), true);
    assert.equal(only!.ejections, 0);
  });
});

describe("OutlierDetector: reloads and shared targets", () => {
  it("keeps a target's counts when a reload builds a new detector", () => {
    const { clock, targets } = service(2);
    const [target] = targets as [Target];
    report(target, ...fails(2));
    target.observers.clear();
    const config = healthCheckSchema.parse({ passive: { consecutiveFailures: 3 } }).passive!;
    const reloaded = new OutlierDetector(config, clock, () => targets);
    target.observers.add(reloaded.observe);
    report(target, "server-error");
    assert.equal(target.available(), false);
  });

  it("counts an outcome once when two services' detectors observe the same target", () => {
    const { clock, targets } = service(2);
    const [target] = targets as [Target];
    const config = healthCheckSchema.parse({ passive: { consecutiveFailures: 3 } }).passive!;
    target.observers.add(new OutlierDetector(config, clock, () => targets).observe);
    report(target, ...fails(2));
    assert.equal(target.available(), true);
    report(target, "server-error");
    assert.equal(target.available(), false);
  });
});

/** Three targets under the rule a service has without a `passive` block. */
function defaultService(passive?: Record<string, unknown>) {
  const clock = new ManualClock();
  const targets = fleet([1, 1, 1], clock);
  const config = passive ? healthCheckSchema.parse({ passive }).passive! : defaultPassiveCheck;
  const detector = new OutlierDetector(config, clock, () => targets);
  for (const target of targets) target.observers.add(detector.observe);
  return { clock, targets };
}

/** A try sent to `target` and ended with `kind`, as the proxy does it. */
function tryOnce(target: Target, kind: Outcome["kind"]): void {
  const trial = target.onDispatch();
  target.onOutcome({ kind, durationMs: 5 });
  target.onSettled(trial);
}

describe("OutlierDetector: the default rule (no passive block)", () => {
  it("ejects a target for 10s at its first connect failure, timeout or reset, not for a 5xx", () => {
    for (const kind of ["connect-failure", "timeout", "reset"] as const) {
      const {
        clock,
        targets: [target],
      } = defaultService();
      tryOnce(target!, kind);
      assert.equal(target!.available(), false, kind);
      assert.equal(target!.ejectedUntil - clock.now(), 10_000, kind);
    }
    const {
      targets: [target],
    } = defaultService();
    for (let i = 0; i < 20; i++) tryOnce(target!, "server-error");
    assert.equal(target!.available(), true, "answers, even 5xx, eject nobody by default");
  });

  it("ejects at most half of the targets", () => {
    const { targets } = defaultService();
    for (const target of targets) tryOnce(target, "connect-failure");
    assert.deepEqual(
      targets.map((target) => target.available()),
      [false, true, true],
    );
  });

  it("is off with consecutiveLocalOriginFailures: 0", () => {
    const {
      targets: [target],
    } = defaultService({ consecutiveFailures: 0, consecutiveLocalOriginFailures: 0 });
    for (let i = 0; i < 20; i++) tryOnce(target!, "connect-failure");
    assert.equal(target!.available(), true);
  });
});

describe("OutlierDetector: back from an ejection, one try at a time until one is answered", () => {
  it("takes one try, re-ejects for longer when it gets no answer, and is back in full once answered", () => {
    const {
      clock,
      targets: [target],
    } = defaultService();
    tryOnce(target!, "timeout");
    clock.advance(10_000);
    assert.equal(target!.available(), true, "the ejection is over: on trial");
    const trial = target!.onDispatch();
    assert.equal(trial, true);
    assert.equal(target!.available(), false, "one try at a time while on trial");
    target!.onOutcome({ kind: "timeout", durationMs: 1_000 });
    target!.onSettled(trial);
    assert.equal(target!.ejectedUntil - clock.now(), 20_000, "out again, twice as long");
    assert.equal(target!.available(), false);
    clock.advance(20_000);
    tryOnce(target!, "success");
    assert.equal(target!.ejectedUntil, 0, "answered: back in full");
    const first = target!.onDispatch();
    const second = target!.onDispatch();
    assert.deepEqual([first, second, target!.available()], [false, false, true]);
  });

  it("a 5xx answer ends the trial too: the target is reachable", () => {
    const {
      clock,
      targets: [target],
    } = defaultService();
    tryOnce(target!, "connect-failure");
    clock.advance(10_000);
    tryOnce(target!, "server-error");
    assert.equal(target!.ejectedUntil, 0);
    assert.equal(target!.available(), true);
  });

  it("stays on trial, one try at a time, until the threshold is reached again", () => {
    const {
      clock,
      targets: [target],
    } = defaultService({ consecutiveFailures: 0, consecutiveLocalOriginFailures: 2 });
    tryOnce(target!, "connect-failure");
    assert.equal(target!.available(), true, "one failure is below the threshold of 2");
    tryOnce(target!, "connect-failure");
    assert.equal(target!.available(), false);
    clock.advance(10_000);
    tryOnce(target!, "connect-failure");
    assert.notEqual(target!.ejectedUntil, 0, "still on trial");
    const trial = target!.onDispatch();
    assert.equal(target!.available(), false, "its next try is a trial as well");
    target!.onOutcome({ kind: "connect-failure", durationMs: 1 });
    target!.onSettled(trial);
    assert.equal(target!.ejectedUntil - clock.now(), 20_000, "second failure on trial: out again");
  });

  it("a target on trial with its try out counts against maxEjectionPercent", () => {
    const { clock, targets } = defaultService();
    const [a, b, c] = targets as [Target, Target, Target];
    tryOnce(a, "timeout");
    clock.advance(10_000);
    const trial = a.onDispatch(); // a hung target: its trial try is still out
    tryOnce(b, "reset");
    assert.deepEqual(
      [a, b, c].map((target) => target.available()),
      [false, true, true],
      "one of three out of rotation is the 50% cap",
    );
    a.onOutcome({ kind: "success", durationMs: 1 });
    a.onSettled(trial);
    tryOnce(b, "reset");
    assert.equal(b.available(), false, "once a is back, b may go");
  });

  it("a trial answered but still streaming does not keep the target out after a later ejection", () => {
    const {
      clock,
      targets: [target],
    } = defaultService();
    tryOnce(target!, "timeout");
    clock.advance(10_000);
    // The trial is answered; its body (a long download, an event stream) keeps coming.
    const stream = target!.onDispatch();
    target!.onOutcome({ kind: "success", durationMs: 5 }, stream);
    assert.equal(target!.ejectedUntil, 0, "answered: back in full");
    tryOnce(target!, "reset");
    clock.advance(20_000);
    assert.equal(target!.available(), true, "this ejection is over: on trial again");
    target!.onSettled(); // its trial ended with its answer, as the proxy tells it
  });

  it("in panic, a target on trial takes any number of tries", () => {
    const {
      clock,
      targets: [target],
    } = defaultService();
    tryOnce(target!, "connect-failure");
    clock.advance(10_000);
    target!.ignoreHealth = true;
    assert.equal(target!.onDispatch(), false);
    assert.equal(target!.onDispatch(), false);
    assert.equal(target!.available(), true);
  });
});
