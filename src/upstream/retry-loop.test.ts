// The retry loop the proxy and the SDK share, without sockets: which retries it schedules,
// on which target, and what it leaves in the service's retry budget.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { configSchema } from "../config/schema/index.ts";
import type { OutcomeKind } from "./outcome.ts";
import { RetryLoop } from "./retry-loop.ts";
import { clientRequest } from "./selectors/test-fleet.ts";
import { Service, type TargetSpec } from "./service.ts";
import { Target } from "./target.ts";

const made: Target[] = [];
after(() => Promise.all(made.map((target) => target.destroy())));

/** A round-robin service over `ports`, retrying with a 1 ms backoff. */
function serviceOf(ports: number[], retries: Record<string, unknown> = {}): Service {
  const config = configSchema.parse({
    gateway: { listen: [{ port: 8080 }] },
    services: [
      {
        name: "users",
        targets: [{ url: "http://127.0.0.1:9001" }],
        retries: { backoff: { base: "1ms", max: "1ms" }, ...retries },
      },
    ],
  });
  const service = new Service(config.services[0]!);
  const pool = {
    acquire(spec: TargetSpec): Target {
      const target = new Target(spec);
      made.push(target);
      return target;
    },
  };
  service.setTargets(
    ports.map((port) => ({ url: `http://127.0.0.1:${port}`, weight: 1 })),
    pool,
  );
  return service;
}

/** A call whose tries are only written down: what the loop asks of a proxy or a client. */
class RecordedCall extends RetryLoop {
  readonly sent: Target[] = [];
  refused = 0;
  replayable = true;
  fits = true;
  #settled: () => void = () => {};

  /** Resolves when the next backoff is over (the retry sent or refused). */
  backoffOver(): Promise<void> {
    return new Promise((resolve) => {
      this.#settled = resolve;
    });
  }

  begin(): void {
    this.startLoop();
  }
  end(): boolean {
    return this.endLoop();
  }
  tryFailed(target: Target, kind: OutcomeKind): boolean {
    return this.retryFailure(target, kind, "GET");
  }
  answered(target: Target, status: number, method = "GET"): boolean {
    return this.retryStatus(target, status, method);
  }
  taken(): void {
    this.releaseRetrySlot();
  }
  get failedFirst(): Target | undefined {
    return this.firstFailedTarget;
  }

  protected override backoffFits(): boolean {
    return this.fits;
  }
  protected sendRetry(target: Target): void {
    this.sent.push(target);
    this.#settled();
  }
  protected retryRefused(): void {
    this.refused++;
    this.#settled();
  }
}

describe("RetryLoop", () => {
  it("retries on another target, up to the policy's attempts", async () => {
    const service = serviceOf([9001, 9002, 9003], { attempts: 2 });
    const [a, b, c] = service.targets;
    const call = new RecordedCall(service, clientRequest(0));
    call.begin();
    let over = call.backoffOver();
    assert.equal(call.tryFailed(a!, "reset"), true);
    await over;
    assert.equal(call.retries, 1);
    over = call.backoffOver();
    assert.equal(call.tryFailed(call.sent[0]!, "timeout"), true);
    await over;
    assert.equal(call.retries, 2);
    assert.deepEqual(new Set([a, ...call.sent]), new Set([a, b, c]), "each try on another target");
    assert.equal(call.failedFirst, a);
    assert.equal(call.tryFailed(call.sent[1]!, "reset"), false, "no attempts left");
    assert.equal(call.end(), true);
    assert.equal(call.end(), false, "a call ends once");
    assert.equal(service.retry.budget.retriesInFlight, 0);
  });

  it("retries what the policy lists, and the same target when it is all there is", async () => {
    const service = serviceOf([9001]);
    const [only] = service.targets;
    const call = new RecordedCall(service, clientRequest(0));
    call.begin();
    assert.equal(call.answered(only!, 500), false, "500 is not listed");
    assert.equal(call.answered(only!, 503, "POST"), false, "POST may not repeat");
    const over = call.backoffOver();
    assert.equal(call.answered(only!, 503), true);
    await over;
    assert.deepEqual(call.sent, [only]);
    call.end();
  });

  it("makes no retry for a body it cannot send again, or past what backoffFits allows", () => {
    const service = serviceOf([9001, 9002]);
    const [a] = service.targets;
    const call = new RecordedCall(service, clientRequest(0));
    call.begin();
    call.replayable = false;
    assert.equal(call.tryFailed(a!, "reset"), false);
    call.replayable = true;
    call.fits = false;
    assert.equal(call.tryFailed(a!, "reset"), false);
    assert.equal(call.retries, 0);
    call.end();
  });

  it("holds a budget slot while a retry's try is under way, and gives it back", async () => {
    const service = serviceOf([9001, 9002], { budget: { ratio: 0.01, minRetries: 1 } });
    const [a] = service.targets;
    const call = new RecordedCall(service, clientRequest(0));
    call.begin();
    const over = call.backoffOver();
    assert.equal(call.tryFailed(a!, "reset"), true);
    await over;
    assert.equal(service.retry.budget.retriesInFlight, 1);
    call.taken();
    assert.equal(service.retry.budget.retriesInFlight, 0);
    call.end();
  });

  it("is refused after its backoff when the budget filled meanwhile, and the count is taken back", async () => {
    const service = serviceOf([9001, 9002], { budget: { ratio: 0.01, minRetries: 1 } });
    const [a] = service.targets;
    const first = new RecordedCall(service, clientRequest(0));
    const second = new RecordedCall(service, clientRequest(1));
    first.begin();
    second.begin();
    const firstOver = first.backoffOver();
    const secondOver = second.backoffOver();
    // Both find room as they decide; only one slot is there when their backoffs are over.
    assert.equal(first.tryFailed(a!, "reset"), true);
    assert.equal(second.tryFailed(a!, "reset"), true);
    await Promise.all([firstOver, secondOver]);
    assert.equal(first.sent.length + second.sent.length, 1);
    assert.equal(first.refused + second.refused, 1);
    assert.equal(first.retries + second.retries, 1);
    first.end();
    second.end();
    assert.equal(service.retry.budget.retriesInFlight, 0);
  });

  it("sends nothing when the call ended during the backoff", async () => {
    const service = serviceOf([9001, 9002]);
    const [a] = service.targets;
    const call = new RecordedCall(service, clientRequest(0));
    call.begin();
    assert.equal(call.tryFailed(a!, "reset"), true);
    call.end();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(call.sent, []);
    assert.equal(call.refused, 0);
  });
});
