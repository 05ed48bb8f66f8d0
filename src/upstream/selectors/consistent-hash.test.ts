// Unit tests for consistent hashing: stickiness, ~1/N movement, hashOn forms, walking on.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Target } from "../target.ts";
import { ConsistentHashSelector } from "./consistent-hash.ts";
import type { HashOn } from "./hash-key.ts";
import type { SelectionRequest } from "./selector.ts";
import { clientRequest, destroyFleet, fleet } from "./test-fleet.ts";

after(destroyFleet);

const keys = 20_000;

/** Where each of `keys` client IPs goes. */
function assignment(selector: ConsistentHashSelector, targets: readonly Target[]): Target[] {
  return Array.from({ length: keys }, (_, n) => selector.select(targets, clientRequest(n))!);
}

describe("ConsistentHashSelector", () => {
  it("sends a key to the same target every time, in new selectors and whatever the order", () => {
    const targets = fleet([1, 1, 1, 1, 1, 1]);
    const first = assignment(new ConsistentHashSelector(), targets);
    assert.deepEqual(assignment(new ConsistentHashSelector(), targets), first);
    assert.deepEqual(assignment(new ConsistentHashSelector(), [...targets].reverse()), first);
    assert.deepEqual(assignment(new ConsistentHashSelector({ ip: true }), [...targets]), first);
  });

  it("moves only the removed target's keys, about 1/N of them", () => {
    const targets = fleet(Array.from({ length: 10 }, () => 1));
    const selector = new ConsistentHashSelector();
    const before = assignment(selector, targets);
    const removed = targets[4]!;
    const after = assignment(
      selector,
      targets.filter((target) => target !== removed),
    );
    let moved = 0;
    for (let n = 0; n < keys; n++) {
      if (before[n] === after[n]) continue;
      moved++;
      assert.equal(before[n], removed, `key ${n} moved off a target that stayed`);
    }
    assert.ok(
      moved / keys > 0.07 && moved / keys < 0.13,
      `${((moved / keys) * 100).toFixed(1)}% moved`,
    );
  });

  it("moves about 1/(N+1) of the keys to an added target, and only to it", () => {
    const targets = fleet(Array.from({ length: 10 }, () => 1));
    const selector = new ConsistentHashSelector();
    const before = assignment(selector, targets.slice(0, 9));
    const after = assignment(selector, targets);
    let moved = 0;
    for (let n = 0; n < keys; n++) {
      if (before[n] === after[n]) continue;
      moved++;
      assert.equal(after[n], targets[9]);
    }
    assert.ok(
      moved / keys > 0.07 && moved / keys < 0.13,
      `${((moved / keys) * 100).toFixed(1)}% moved`,
    );
  });

  it("walks an unavailable target's keys on to several others, and brings them back", () => {
    const targets = fleet(Array.from({ length: 8 }, () => 1));
    const selector = new ConsistentHashSelector();
    const before = assignment(selector, targets);
    targets[2]!.health = "unhealthy";
    const during = assignment(selector, targets);
    const heirs = new Set<Target>();
    for (let n = 0; n < keys; n++) {
      if (before[n] === targets[2]) heirs.add(during[n]!);
      else assert.equal(during[n], before[n]);
    }
    assert.ok(heirs.size >= 5, `the keys went to only ${heirs.size} targets`);
    targets[2]!.health = "healthy";
    assert.deepEqual(assignment(selector, targets), before);
  });

  it("sends a retry that excludes the first pick to the same next target each time", () => {
    const targets = fleet([1, 1, 1, 1]);
    const selector = new ConsistentHashSelector();
    const request = clientRequest(42);
    const first = selector.select(targets, request)!;
    const second = selector.select(targets, request, { exclude: new Set([first]) });
    assert.ok(second && second !== first);
    for (let i = 0; i < 5; i++)
      assert.equal(selector.select(targets, request, { exclude: new Set([first]) }), second);
  });

  describe("hashOn", () => {
    const targets = fleet(Array.from({ length: 16 }, () => 1));
    /** Whether requests from many clients carrying the same key all land on one target. */
    const sticky = (hashOn: HashOn, extra: (n: number) => Partial<SelectionRequest>) => {
      const selector = new ConsistentHashSelector(hashOn);
      const landed = new Set<Target>();
      for (let n = 0; n < 200; n++)
        landed.add(selector.select(targets, clientRequest(n, extra(n)))!);
      return landed.size === 1;
    };
    const spread = (hashOn: HashOn, extra: (n: number) => Partial<SelectionRequest>) => {
      const selector = new ConsistentHashSelector(hashOn);
      const landed = new Set<Target>();
      for (let n = 0; n < 200; n++)
        landed.add(selector.select(targets, clientRequest(n, extra(n)))!);
      return landed.size;
    };

    it("hashes on a header, whatever the case of its configured name", () => {
      assert.ok(sticky({ header: "X-User" }, () => ({ headers: { "x-user": "alice" } })));
      assert.ok(spread({ header: "X-User" }, (n) => ({ headers: { "x-user": `user${n}` } })) > 10);
    });

    it("hashes on a cookie", () => {
      const cookie = (n: number) => `theme=dark; session=${n % 2 ? '"abc"' : "abc"}; lang=${n}`;
      assert.ok(sticky({ cookie: "session" }, (n) => ({ headers: { cookie: cookie(n) } })));
      assert.ok(
        sticky({ cookie: "session" }, () => ({ headers: { cookie: ["a=1", "session=abc"] } })),
      );
    });

    it("hashes on a query argument, decoded", () => {
      const query = (n: number) => `page=${n}&user=${n % 2 ? "a%20b" : "a+b"}`;
      assert.ok(sticky({ query: "user" }, (n) => ({ query: query(n) })));
    });

    it("hashes on the path and on the consumer", () => {
      assert.ok(sticky({ path: true }, () => ({ path: "/api/orders/7" })));
      assert.ok(spread({ path: true }, (n) => ({ path: `/api/orders/${n}` })) > 10);
      assert.ok(sticky({ consumer: true }, () => ({ consumer: "mobile-app" })));
    });

    it("falls back to the client IP when the request lacks the key", () => {
      const byIp = new ConsistentHashSelector({ ip: true });
      const forms: HashOn[] = [
        { header: "x-user" },
        { cookie: "session" },
        { query: "user" },
        { path: true },
        { consumer: true },
      ];
      for (const hashOn of forms) {
        const selector = new ConsistentHashSelector(hashOn);
        for (let n = 0; n < 100; n++) {
          const request = clientRequest(n, {
            path: "",
            query: "other=1",
            headers: { cookie: "a=b" },
          });
          assert.equal(
            selector.select(targets, request),
            byIp.select(targets, request),
            JSON.stringify(hashOn),
          );
        }
      }
    });
  });
});
