import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../upstream/clock.ts";
import type { Registration } from "./instance.ts";
import { MemoryRegistryStore } from "./memory-store.ts";
import type { RegistryEvent } from "./store.ts";

const registration = (id: string, extra: Partial<Registration> = {}): Registration => ({
  service: "orders",
  id,
  address: "10.0.0.7",
  port: 9003,
  protocol: "http",
  ttlMs: 10_000,
  weight: 1,
  tags: [],
  metadata: {},
  ...extra,
});

function harness(removeAfter = 60_000) {
  const clock = new ManualClock();
  const counted = { registered: 0, expired: 0 };
  /** What each heartbeat told the observer: the service and the ms since the last renewal. */
  const lags: string[] = [];
  const store = new MemoryRegistryStore({
    removeAfter,
    clock,
    observer: {
      registered: () => counted.registered++,
      expired: () => counted.expired++,
      renewed: (service, sinceMs) => lags.push(`${service} ${sinceMs}`),
    },
  });
  const events: RegistryEvent[] = [];
  store.watch("orders", (event) => events.push(event));
  const kinds = () => events.map((event) => `${event.type}@${event.revision}`);
  return { clock, store, events, kinds, counted, lags };
}

describe("memory registry store", () => {
  it("gives a watcher the snapshot, then one numbered event per change", async () => {
    const { store, kinds, events } = harness();
    const first = await store.put(registration("a"));
    assert.equal(first.created, true);
    assert.equal(first.lease.url, "http://10.0.0.7:9003");
    assert.equal(first.lease.ttl, "10s");
    assert.equal(first.lease.ttlMs, 10_000);
    const again = await store.put(registration("a", { port: 9004 }));
    assert.equal(again.created, false, "the same id replaces");
    assert.equal(await store.remove("orders", "a"), true);
    assert.equal(await store.remove("orders", "a"), false);
    assert.deepEqual(kinds(), ["snapshot@0", "put@1", "put@2", "delete@3"]);
    const put = events[2] as Extract<RegistryEvent, { type: "put" }>;
    assert.equal(put.instance.url, "http://10.0.0.7:9004");
    assert.equal(put.instance.state, "up");
  });

  it("tells only the watchers of the service that changed", async () => {
    const { store, kinds } = harness();
    await store.put(registration("x", { service: "billing" }));
    assert.deepEqual(kinds(), ["snapshot@0"]);
    assert.deepEqual(
      store.list().map((count) => count.name),
      ["billing"],
    );
  });

  it("keeps an instance whose heartbeats come in time, with no event for them", async () => {
    const { clock, store, kinds } = harness();
    await store.put(registration("a"));
    for (let i = 0; i < 5; i++) {
      clock.advance(9_000);
      const lease = await store.heartbeat("orders", "a");
      assert.ok(lease, `heartbeat ${i} renews the lease`);
    }
    assert.deepEqual(kinds(), ["snapshot@0", "put@1"]);
    assert.equal(store.snapshot("orders").instances[0]!.state, "up");
  });

  it("marks a missed lease down at once, refuses its heartbeat, and removes it after removeAfter", async () => {
    const { clock, store, kinds, counted } = harness(60_000);
    await store.put(registration("a"));
    clock.advance(9_999);
    assert.deepEqual(kinds(), ["snapshot@0", "put@1"], "not down before its TTL");
    clock.advance(1);
    assert.deepEqual(
      kinds(),
      ["snapshot@0", "put@1", "down@2"],
      "down the moment the TTL runs out",
    );
    assert.equal(store.snapshot("orders").instances[0]!.state, "down");
    assert.deepEqual(store.list(), [{ name: "orders", instances: 1, up: 0, down: 1 }]);
    assert.equal(
      await store.heartbeat("orders", "a"),
      undefined,
      "a down instance must register again",
    );
    clock.advance(59_999);
    assert.equal(store.snapshot("orders").instances.length, 1);
    clock.advance(1);
    assert.deepEqual(kinds(), ["snapshot@0", "put@1", "down@2", "delete@3"]);
    assert.deepEqual(store.list(), []);
    assert.deepEqual(counted, { registered: 1, expired: 1 });
  });

  it("brings a down instance back up when it registers again, and its old removal never fires", async () => {
    const { clock, store, kinds } = harness(5_000);
    await store.put(registration("a"));
    clock.advance(10_000);
    const back = await store.put(registration("a"));
    assert.equal(back.created, false);
    clock.advance(5_000);
    assert.deepEqual(kinds(), ["snapshot@0", "put@1", "down@2", "put@3"]);
    assert.equal(store.snapshot("orders").instances[0]!.state, "up");
  });

  it("tells the observer how long each lease went unrenewed before its heartbeat", async () => {
    const { clock, store, lags } = harness();
    await store.put(registration("a"));
    clock.advance(3_000);
    await store.heartbeat("orders", "a");
    clock.advance(4_500);
    await store.heartbeat("orders", "a");
    assert.deepEqual(
      lags,
      ["orders 3000", "orders 4500"],
      "from registration, then from the last heartbeat",
    );
    clock.advance(10_000);
    assert.equal(await store.heartbeat("orders", "a"), undefined);
    assert.equal(lags.length, 2, "a heartbeat refused (the lease ran out) renews nothing");
    await store.put(registration("a"));
    clock.advance(1_000);
    await store.heartbeat("orders", "a");
    assert.deepEqual(lags.at(-1), "orders 1000", "a registration starts the lease again");
  });

  it("shows lease times on the wall clock", async () => {
    const { clock, store } = harness();
    const before = Date.now();
    const { lease } = await store.put(registration("a"));
    const expires = Date.parse(lease.expiresAt) - Date.parse(lease.registeredAt);
    assert.equal(expires, 10_000);
    assert.ok(Math.abs(Date.parse(lease.registeredAt) - before) < 1_000);
    clock.advance(4_000);
    const renewed = await store.heartbeat("orders", "a");
    assert.equal(Date.parse(renewed!.expiresAt) - Date.parse(lease.expiresAt), 4_000);
    const [view] = store.snapshot("orders").instances;
    assert.equal(Date.parse(view!.lastHeartbeat) - Date.parse(view!.registeredAt), 4_000);
  });

  it("stops telling a watcher that unsubscribed, and everyone once closed", async () => {
    const { store, events } = harness();
    const late: RegistryEvent[] = [];
    const stop = store.watch("orders", (event) => late.push(event));
    stop();
    await store.put(registration("a"));
    assert.equal(late.length, 1, "only its snapshot");
    await store.close();
    await store.put(registration("b"));
    assert.equal(events.length, 2, "nothing after close");
  });
});
