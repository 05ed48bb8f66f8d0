// The in-memory limiter on a hand-moved clock: the sliding window's guarantee (at most N
// in any window-long interval, so no 2N burst across a boundary), the token bucket's
// burst and refill, several limits at once, and the bounded key count.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../upstream/clock.ts";
import { MemoryRateLimitStore } from "./memory-store.ts";

const admittedOf = (store: MemoryRateLimitStore, key: string, count: number) => {
  let admitted = 0;
  for (let i = 0; i < count; i++) if (store.decide(key).admitted) admitted++;
  return admitted;
};

describe("sliding window (memory)", () => {
  it("admits no burst of 2N across a window boundary", () => {
    const clock = new ManualClock();
    const store = new MemoryRateLimitStore([{ limit: 10, windowMs: 1000 }], "sliding-window", {
      clock,
    });
    clock.advance(990); // N at the very end of one fixed window...
    assert.equal(admittedOf(store, "k", 10), 10);
    clock.advance(20); // ...and N more just after its boundary: a fixed window would admit them
    assert.equal(admittedOf(store, "k", 10), 0);
    const refused = store.decide("k");
    assert.equal(refused.admitted, false);
    assert.equal(refused.retryAfterMs, 980, "the first of the ten leaves the window at 1990");
    clock.advance(979);
    assert.equal(store.decide("k").admitted, false);
    clock.advance(1);
    assert.equal(admittedOf(store, "k", 11), 10, "all ten left the window together");
  });

  it("admits at most N in every window-long interval, requests spread at random", () => {
    const clock = new ManualClock();
    const limit = 5;
    const windowMs = 100;
    const store = new MemoryRateLimitStore([{ limit, windowMs }], "sliding-window", { clock });
    const admittedAt: number[] = [];
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 5000; i++) {
      clock.advance(Math.floor(random() * 15));
      if (store.decide("k").admitted) admittedAt.push(clock.now());
    }
    for (let i = 0; i + limit < admittedAt.length; i++) {
      assert.ok(
        admittedAt[i + limit]! - admittedAt[i]! >= windowMs,
        `${limit + 1} admitted within ${windowMs}ms at ${admittedAt[i]}`,
      );
    }
    assert.ok(admittedAt.length > 5000 * 0.3, "and it does admit up to the limit");
  });

  it("counts down RateLimit-Remaining and reports when the quota is whole again", () => {
    const clock = new ManualClock();
    const store = new MemoryRateLimitStore([{ limit: 3, windowMs: 60_000 }], "sliding-window", {
      clock,
    });
    assert.deepEqual(
      [1, 2, 3, 4].map(() => store.decide("k")).map((d) => [d.admitted, d.remaining]),
      [
        [true, 2],
        [true, 1],
        [true, 0],
        [false, 0],
      ],
    );
    assert.equal(store.decide("other").remaining, 2, "keys count apart");
  });
});

describe("token bucket (memory)", () => {
  it("admits a burst of N, then refills at N per window", () => {
    const clock = new ManualClock();
    const store = new MemoryRateLimitStore([{ limit: 4, windowMs: 1000 }], "token-bucket", {
      clock,
    });
    assert.equal(admittedOf(store, "k", 6), 4);
    const refused = store.decide("k");
    assert.equal(refused.admitted, false);
    assert.equal(refused.retryAfterMs, 250, "one token comes back every 250ms");
    clock.advance(249);
    assert.equal(store.decide("k").admitted, false);
    clock.advance(1);
    assert.equal(admittedOf(store, "k", 2), 1);
    clock.advance(500);
    assert.equal(admittedOf(store, "k", 3), 2);
    clock.advance(10_000); // a bucket never holds more than N
    assert.equal(admittedOf(store, "k", 6), 4);
  });

  it("reports tokens left and the time until the bucket is full", () => {
    const clock = new ManualClock();
    const store = new MemoryRateLimitStore([{ limit: 3, windowMs: 3000 }], "token-bucket", {
      clock,
    });
    const first = store.decide("k");
    assert.deepEqual([first.remaining, first.resetMs], [2, 1000]);
    const second = store.decide("k");
    assert.deepEqual([second.remaining, second.resetMs], [1, 2000]);
  });
});

describe("several limits (memory)", () => {
  for (const algorithm of ["sliding-window", "token-bucket"] as const) {
    it(`${algorithm}: the tighter applies, a refusal consumes from none, headers report the tightest`, () => {
      const clock = new ManualClock();
      const perSecond = { limit: 3, windowMs: 1000 };
      const perMinute = { limit: 5, windowMs: 60_000 };
      const store = new MemoryRateLimitStore([perMinute, perSecond], algorithm, { clock });
      const first = store.decide("k");
      assert.equal(first.rule, perSecond, "2 left of 3/s is tighter than 4 left of 5/min");
      assert.equal(first.remaining, 2);
      assert.equal(admittedOf(store, "k", 5), 2, "3/s refuses the 4th within the second");
      clock.advance(1000);
      const fourth = store.decide("k");
      assert.equal(fourth.admitted, true, "the refusals took nothing from 5/min");
      assert.equal(fourth.rule, perMinute);
      assert.equal(fourth.remaining, 1);
      assert.equal(admittedOf(store, "k", 3), 1);
      const refused = store.decide("k");
      assert.equal(refused.rule, perMinute, "the limit that refuses longest is reported");
      assert.ok(
        refused.retryAfterMs > 10_000,
        "minutes-long, not the 3/s limit's fraction of a second",
      );
    });
  }
});

describe("Retry-After (memory)", () => {
  for (const algorithm of ["sliding-window", "token-bucket"] as const)
    it(`${algorithm}: a client that waits exactly retryAfterMs is admitted, at any clock reading`, () => {
      // performance.now() has fractions of a millisecond: the wait and the expiry must
      // round alike, or the client is refused again for a float's last bit.
      const clock = new ManualClock();
      const store = new MemoryRateLimitStore([{ limit: 1, windowMs: 24 }], algorithm, { clock });
      clock.advance(1000 + 9.663381206337365e-13);
      assert.equal(store.decide("k").admitted, true);
      const refused = store.decide("k");
      assert.equal(refused.admitted, false);
      clock.advance(refused.retryAfterMs);
      assert.equal(store.decide("k").admitted, true);
    });
});

describe("memory bounds", () => {
  it("tracks at most maxKeys keys and forgets idle ones after the longest window", () => {
    const clock = new ManualClock();
    const store = new MemoryRateLimitStore([{ limit: 1, windowMs: 1000 }], "sliding-window", {
      clock,
      maxKeys: 100,
    });
    for (let i = 0; i < 1000; i++) store.decide(`client-${i}`);
    assert.equal(store.size, 100);
    clock.advance(1001);
    store.decide("fresh");
    assert.equal(store.decide("client-999").admitted, true, "an idle key starts afresh");
  });
});
