// Connect and subscribe options: defaults, durations read once, bad values refused.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backoffDelay, resolveEventsOptions, resolveSubscribeOptions } from "./events-options.ts";

describe("events options", () => {
  it("applies the defaults", () => {
    const options = resolveEventsOptions();
    assert.equal(options.maxDeliver, 5);
    assert.deepEqual(options.backoffMs, [1000, 5000, 30_000]);
    assert.equal(options.ackWaitMs, 30_000);
    assert.equal(options.duplicateWindowMs, 120_000);
    assert.equal(options.stores, undefined);
    assert.equal(options.outboxRetentionMs, 3_600_000);
    const subscription = resolveSubscribeOptions({ durable: "d", subject: "a.*" }, options);
    assert.equal(subscription.inboxRetentionMs, 7 * 86_400_000);
  });

  it("reads the retentions as durations and refuses one that is not", () => {
    assert.equal(resolveEventsOptions({ outboxRetention: "10m" }).outboxRetentionMs, 600_000);
    assert.throws(() => resolveEventsOptions({ outboxRetention: "forever" }), /outboxRetention/);
    const bus = resolveEventsOptions();
    assert.equal(
      resolveSubscribeOptions({ durable: "d", subject: "a.*", inboxRetention: "30d" }, bus)
        .inboxRetentionMs,
      30 * 86_400_000,
    );
    assert.throws(
      () => resolveSubscribeOptions({ durable: "d", subject: "a.*", inboxRetention: "1w" }, bus),
      /inboxRetention/,
    );
  });

  it("gives a subscription the bus's policy unless it has its own", () => {
    const bus = resolveEventsOptions({ backoff: ["100ms"], maxDeliver: 3 });
    const inherited = resolveSubscribeOptions({ durable: "d", subject: "a.*" }, bus);
    assert.deepEqual(
      [inherited.maxDeliver, inherited.backoffMs, inherited.concurrency],
      [3, [100], 1],
    );
    const own = resolveSubscribeOptions(
      { durable: "d", subject: "a.*", maxDeliver: 9, backoff: ["1s", "2s"], concurrency: 4 },
      bus,
    );
    assert.deepEqual([own.maxDeliver, own.backoffMs, own.concurrency], [9, [1000, 2000], 4]);
  });

  it("waits the n-th backoff after the n-th failure, the last one repeating", () => {
    const policy = resolveEventsOptions({ backoff: ["1s", "5s"] });
    assert.deepEqual(
      [1, 2, 3, 7].map((count) => backoffDelay(policy, count)),
      [1000, 5000, 5000, 5000],
    );
  });

  it("refuses bad values with GATEHOUSE_EVENTS_INVALID naming the option", () => {
    const bad: [Parameters<typeof resolveEventsOptions>[0], RegExp][] = [
      [{ backoff: ["soon"] }, /backoff "soon"/],
      [{ backoff: [] }, /backoff: at least one/],
      [{ maxDeliver: 0 }, /maxDeliver 0/],
      [{ ackWait: "10ms" }, /ackWait 10ms/],
      [{ duplicateWindow: "2 minutes" }, /duplicateWindow/],
      [{ streams: [{ name: "a.b", subjects: ["a.>"] }] }, /streams: name "a.b"/],
      [{ streams: [{ name: "a", subjects: [] }] }, /streams: a needs/],
    ];
    for (const [options, message] of bad)
      assert.throws(() => resolveEventsOptions(options), {
        code: "GATEHOUSE_EVENTS_INVALID",
        message,
      });
    assert.throws(
      () =>
        resolveSubscribeOptions(
          { durable: "d", subject: "a", concurrency: 0 },
          resolveEventsOptions(),
        ),
      { code: "GATEHOUSE_EVENTS_INVALID", message: /concurrency 0/ },
    );
  });
});
