// Property tests of the in-memory rate limiter on a hand-moved clock, with requests at
// random times: the sliding window admits at most `limit` in every window-long interval and
// refuses only when the window is full; the token bucket admits at most its burst plus
// rate × t in every interval t; a refused client that waits its Retry-After is admitted.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Algorithm, LimitRule } from "../../src/plugins/rate-limit/decision.ts";
import { MemoryRateLimitStore } from "../../src/plugins/rate-limit/memory-store.ts";
import type { Clock } from "../../src/upstream/clock.ts";
import { checkProperty } from "../helpers/fuzz.ts";

const rule: fc.Arbitrary<LimitRule> = fc.record({
  limit: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 40 })),
  windowMs: fc.oneof(fc.constantFrom(1, 7, 1000, 60_000), fc.integer({ min: 1, max: 5000 })),
});

/** Gaps between requests: many at the same instant, many near the refill interval, some long. */
const gap = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 50 }),
  fc.double({ min: 0, max: 2000, noNaN: true }),
  fc.integer({ min: 0, max: 120_000 }),
);

const scenario = fc.record({
  // performance.now() readings: any fraction of a millisecond.
  start: fc.oneof(fc.constant(1000), fc.double({ min: 0, max: 1e7, noNaN: true })),
  rules: fc.array(rule, { minLength: 1, maxLength: 3 }),
  gaps: fc.array(gap, { minLength: 1, maxLength: 150 }),
});

interface Outcome {
  at: number;
  admitted: boolean;
  retryAfterMs: number;
}

/** Sends one request per gap (one key) through a store on a clock set by hand. */
function run(start: number, rules: LimitRule[], gaps: number[], algorithm: Algorithm) {
  let now = start;
  const clock: Clock = { now: () => now, schedule: () => () => {} };
  const store = new MemoryRateLimitStore(rules, algorithm, { clock, maxKeys: 4 });
  const outcomes: Outcome[] = [];
  for (const step of gaps) {
    now += step;
    const decision = store.decide("k");
    outcomes.push({ at: now, admitted: decision.admitted, retryAfterMs: decision.retryAfterMs });
  }
  // A client refused last that waits as long as it was told is admitted.
  const last = outcomes.at(-1)!;
  if (last.admitted) return { outcomes, retried: true };
  now += last.retryAfterMs;
  return { outcomes, retried: store.decide("k").admitted };
}

/** How many of the sorted times `at` lie in (from, to]. */
function countIn(at: readonly number[], from: number, to: number): number {
  let count = 0;
  for (const time of at) if (time > from && time <= to) count++;
  return count;
}

describe("rate-limit properties (memory store)", () => {
  it("sliding window: never more than the limit in any window, refuses only when full", async () => {
    await checkProperty(
      fc.property(scenario, ({ start, rules, gaps }) => {
        const { outcomes, retried } = run(start, rules, gaps, "sliding-window");
        const admitted = outcomes.filter((o) => o.admitted).map((o) => o.at);
        // The fullest window-long interval ends at an admitted request.
        for (const { limit, windowMs } of rules)
          for (const end of admitted) {
            const count = countIn(admitted, end - windowMs, end);
            assert.ok(count <= limit, `${count} admitted in (${end - windowMs}, ${end}]`);
          }
        for (const { at, admitted: was } of outcomes) {
          if (was) continue;
          const full = rules.some((r) => countIn(admitted, at - r.windowMs, at) >= r.limit);
          assert.ok(full, `refused at ${at} with room in every window`);
        }
        assert.ok(retried, "refused again after waiting its Retry-After");
      }),
      300,
    );
  });

  it("token bucket: never more than burst + rate × t in any interval t", async () => {
    await checkProperty(
      fc.property(scenario, ({ start, rules, gaps }) => {
        const { outcomes, retried } = run(start, rules, gaps, "token-bucket");
        const admitted = outcomes.filter((o) => o.admitted).map((o) => o.at);
        for (const { limit, windowMs } of rules) {
          const rate = limit / windowMs;
          for (let i = 0; i < admitted.length; i++)
            for (let j = i; j < admitted.length; j++) {
              const t = admitted[j]! - admitted[i]!;
              // The bucket's own float tolerance (1e-6 ms) may admit that much early.
              const bound = limit + rate * (t + 1e-6);
              assert.ok(j - i + 1 <= bound, `${j - i + 1} admitted in ${t} ms, bound ${bound}`);
            }
        }
        assert.ok(retried, "refused again after waiting its Retry-After");
      }),
      300,
    );
  });
});
