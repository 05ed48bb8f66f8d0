import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { registryDiscoverySchema } from "../config/schema/registry.ts";
import type { Registration } from "../registry/instance.ts";
import { MemoryRegistryStore } from "../registry/memory-store.ts";
import { ManualClock } from "../upstream/clock.ts";
import { RegistrySource } from "./registry.ts";
import type { DiscoveredTarget } from "./source.ts";

const instance = (id: string, port: number, extra: Partial<Registration> = {}): Registration => ({
  service: "orders",
  id,
  address: "10.0.0.7",
  port,
  protocol: "http",
  ttlMs: 10_000,
  weight: 1,
  tags: [],
  metadata: {},
  ...extra,
});

function harness(filters: Record<string, unknown> = {}, protocol: "http" | "grpc" = "http") {
  const clock = new ManualClock();
  const store = new MemoryRegistryStore({ removeAfter: 60_000, clock });
  const source = new RegistrySource(
    store,
    registryDiscoverySchema.parse({ service: "orders", ...filters }),
    protocol,
    { defer: (work) => deferred.push(work) },
  );
  const deferred: (() => void)[] = [];
  /** Runs what the source deferred, as the event loop would after this turn. */
  const settle = () => {
    for (const work of deferred.splice(0)) work();
  };
  const emitted: (readonly DiscoveredTarget[])[] = [];
  const ports = () => emitted.at(-1)?.map((target) => Number(new URL(target.url).port));
  return {
    clock,
    store,
    source,
    emitted,
    ports,
    settle,
    deferred,
    start: () => source.start((t) => emitted.push(t)),
  };
}

describe("registry discovery source", () => {
  it("emits the set at once, then on each change; a heartbeat changes nothing", async () => {
    const { clock, store, emitted, ports, start, settle } = harness();
    await store.put(instance("a", 9001, { zone: "eu-1", version: "1.4.2", tags: ["stable"] }));
    start();
    assert.deepEqual(emitted, [
      [
        {
          url: "http://10.0.0.7:9001",
          weight: 1,
          zone: "eu-1",
          version: "1.4.2",
          tags: ["stable"],
          metadata: {},
        },
      ],
    ]);
    await store.put(instance("b", 9002, { weight: 3 }));
    settle();
    assert.deepEqual(ports(), [9001, 9002]);
    clock.advance(9_000);
    await store.heartbeat("orders", "a");
    settle();
    assert.equal(emitted.length, 2);
    clock.advance(1_000);
    settle();
    assert.deepEqual(ports(), [9001], "b missed its lease: out at once");
    assert.equal(emitted.length, 3);
    await store.remove("orders", "a");
    settle();
    assert.deepEqual(ports(), []);
  });

  it("tells changes that arrive together as one set", async () => {
    const { store, emitted, ports, start, settle, deferred } = harness();
    start();
    for (let port = 9001; port <= 9100; port++) await store.put(instance(`i${port}`, port));
    await store.remove("orders", "i9100");
    assert.equal(deferred.length, 1, "one telling for the burst");
    settle();
    assert.equal(emitted.length, 2);
    assert.equal(ports()!.length, 99);
    await store.put(instance("i9100", 9100));
    await store.remove("orders", "i9100");
    settle();
    assert.equal(emitted.length, 2, "a change undone before it was told tells nothing");
  });

  it("hands on the targets that did not change as the same objects, in URL order", async () => {
    const { store, emitted, ports, start, settle } = harness();
    for (const port of [9005, 9001, 9003]) await store.put(instance(`i${port}`, port));
    start();
    const [t1, t3, t5] = emitted[0]!;
    await store.put(instance("i9004", 9004));
    await store.put(instance("i9000", 9000));
    settle();
    assert.deepEqual(ports(), [9000, 9001, 9003, 9004, 9005]);
    const grown = emitted.at(-1)!;
    assert.equal(grown[1], t1);
    assert.equal(grown[2], t3);
    assert.equal(grown[4], t5);
    await store.put(instance("i9003", 9003, { weight: 4 }));
    await store.remove("orders", "i9000");
    settle();
    const changed = emitted.at(-1)!;
    assert.deepEqual(ports(), [9001, 9003, 9004, 9005]);
    assert.equal(changed[0], t1);
    assert.notEqual(changed[1], t3, "re-registered with another weight: a new target");
    assert.equal(changed[1]!.weight, 4);
    assert.equal(changed[2], grown[3]);
    assert.equal(emitted[0]!.length, 3, "a set once told never changes");
    await store.put(instance("i9001", 9001));
    settle();
    assert.equal(emitted.at(-1), changed, "re-registered as it was: nothing to tell");
  });

  it("makes one target of the instances at one address, their weights added", async () => {
    const { store, emitted, start, settle } = harness();
    await store.put(instance("a", 9001, { weight: 2, zone: "eu-1" }));
    start();
    await store.put(instance("b", 9001, { weight: 3, zone: "eu-2" }));
    settle();
    assert.deepEqual(
      emitted.at(-1)!.map(({ url, weight, zone }) => ({ url, weight, zone })),
      [{ url: "http://10.0.0.7:9001", weight: 5, zone: "eu-1" }],
      "the first one's labels",
    );
    await store.remove("orders", "a");
    settle();
    assert.deepEqual(
      emitted.at(-1)!.map(({ weight, zone }) => ({ weight, zone })),
      [{ weight: 3, zone: "eu-2" }],
    );
    await store.remove("orders", "b");
    settle();
    assert.deepEqual(emitted.at(-1), []);
  });

  it("starts with no targets when the service has no instances yet", () => {
    const { emitted, start } = harness();
    start();
    assert.deepEqual(emitted, [[]]);
  });

  it("takes only the instances that pass every filter and speak the service's protocol", async () => {
    const { store, ports, start } = harness({
      tags: ["stable", "eu"],
      version: ">=1.4.0 <2",
      zone: "eu-1",
      metadata: { tier: "gold" },
    });
    const good = {
      tags: ["stable", "eu", "extra"],
      version: "1.5.0",
      zone: "eu-1",
      metadata: { tier: "gold", build: "7" },
    };
    await store.put(instance("ok", 9001, good));
    await store.put(instance("missing-tag", 9002, { ...good, tags: ["stable"] }));
    await store.put(instance("too-new", 9003, { ...good, version: "2.0.0" }));
    await store.put(instance("no-version", 9004, { ...good, version: undefined }));
    await store.put(instance("other-zone", 9005, { ...good, zone: "eu-2" }));
    await store.put(instance("other-tier", 9006, { ...good, metadata: { tier: "silver" } }));
    await store.put(instance("grpc", 9007, { ...good, protocol: "grpc" }));
    await store.put(instance("pre", 9008, { ...good, version: "1.6.0-rc.1" }));
    start();
    assert.deepEqual(ports(), [9001, 9008]);
  });

  it("follows an instance that re-registers out of the filters, and says nothing of others", async () => {
    const { store, emitted, ports, start, settle, deferred } = harness({ tags: ["stable"] });
    await store.put(instance("a", 9001, { tags: ["stable"] }));
    start();
    await store.put(instance("other", 9009));
    assert.equal(deferred.length, 0, "an instance the filters leave out changes nothing");
    await store.put(instance("a", 9001, { tags: ["canary"] }));
    settle();
    assert.equal(emitted.length, 2);
    assert.deepEqual(ports(), []);
  });

  it("tells nothing after stop", async () => {
    const { store, emitted, source, start, settle } = harness();
    start();
    await store.put(instance("a", 9001));
    source.stop();
    settle();
    await store.put(instance("b", 9002));
    settle();
    assert.equal(emitted.length, 1);
  });
});
