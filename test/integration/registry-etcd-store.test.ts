// The registry's etcd store with a real etcd: registrations, heartbeats, deregistrations
// and watch events through one store; two stores (two gateway nodes) on one etcd seeing
// the same instances and the same numbered events; a missed lease making an instance down
// on every node, then removed after removeAfter; and etcd killed and restarted while
// instances heartbeat: none lost, none resurrected, the last known instances kept meanwhile,
// and a node started meanwhile filled once etcd is back.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Etcd3 } from "etcd3";
import { isGatehouseError } from "../../src/errors.ts";
import { EtcdRegistryStore } from "../../src/registry/etcd-store.ts";
import type { Registration } from "../../src/registry/instance.ts";
import type { RegistryEvent } from "../../src/registry/store.ts";
import { type EtcdServer, startEtcdServer } from "../helpers/etcd-server.ts";
import { until } from "../helpers/until.ts";

const registration = (id: string, extra: Partial<Registration> = {}): Registration => ({
  service: "orders",
  id,
  address: "10.0.0.7",
  port: 9003,
  protocol: "http",
  ttlMs: 2_000,
  weight: 1,
  tags: ["stable"],
  metadata: { tier: "gold" },
  ...extra,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("etcd registry store", () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  const stores: EtcdRegistryStore[] = [];
  let prefixes = 0;

  before(async () => {
    etcd = await startEtcdServer();
    client = new Etcd3({ hosts: etcd.url });
  });
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    client.close();
    await etcd.remove();
  });

  /** `count` stores (nodes) on one fresh prefix, each watching `orders` into its own list. */
  async function nodes(count: number, removeAfter = 60_000) {
    const prefix = `/t${++prefixes}/`;
    const made = [];
    for (let i = 0; i < count; i++) {
      const counted = { registered: 0, expired: 0 };
      /** Each heartbeat's ms since the lease's last renewal, as the node told it. */
      const lags: number[] = [];
      const store = new EtcdRegistryStore({
        connection: { endpoints: [etcd.url], prefix, timeout: 500 },
        removeAfter,
        observer: {
          registered: () => counted.registered++,
          expired: () => counted.expired++,
          renewed: (_service, sinceMs) => lags.push(sinceMs),
        },
      });
      stores.push(store);
      await store.ready();
      const events: RegistryEvent[] = [];
      store.watch("orders", (event) => events.push(event));
      const kinds = () => events.map((event) => `${event.type}@${event.revision}`);
      made.push({ store, events, kinds, counted, lags });
    }
    return { prefix, nodes: made };
  }

  const keysUnder = async (prefix: string) => (await client.getAll().prefix(prefix).keys()).sort();

  it("registers, renews, replaces and deregisters, each change one event numbered by etcd", async () => {
    const {
      prefix,
      nodes: [a],
    } = await nodes(1);
    const { store, events, kinds, counted } = a!;
    assert.equal(store.connected, true);
    const first = await store.put(registration("a", { ttlMs: 2_500 }));
    assert.equal(first.created, true);
    assert.equal(first.lease.url, "http://10.0.0.7:9003");
    assert.equal(first.lease.ttl, "3s", "etcd counts leases in whole seconds");
    // Read your write: the mirror has it when put() resolves.
    const [instance] = store.snapshot("orders").instances;
    assert.equal(instance?.state, "up");
    assert.deepEqual(instance?.tags, ["stable"]);
    assert.deepEqual(instance?.metadata, { tier: "gold" });
    assert.deepEqual(store.list(), [{ name: "orders", instances: 1, up: 1, down: 0 }]);
    assert.deepEqual(await keysUnder(prefix), [
      `${prefix}registry/instances/orders/a`,
      `${prefix}registry/leases/orders/a`,
    ]);

    await sleep(20);
    const renewed = await store.heartbeat("orders", "a");
    assert.ok(renewed && renewed.expiresAt > first.lease.expiresAt, "the lease runs from now");
    assert.equal(events.length, 2, "a heartbeat is told to nobody");

    const again = await store.put(registration("a", { port: 9004 }));
    assert.equal(again.created, false, "the same id replaces");
    assert.equal(await store.remove("orders", "a"), true);
    assert.equal(await store.remove("orders", "a"), false);
    assert.equal(await store.heartbeat("orders", "a"), undefined);
    assert.deepEqual(await keysUnder(prefix), []);

    const revisions = events.map((event) => event.revision);
    assert.deepEqual(
      events.map((event) => event.type),
      ["snapshot", "put", "put", "delete"],
    );
    assert.ok(revisions[1]! < revisions[2]! && revisions[2]! < revisions[3]!, kinds().join());
    const put = events[2] as Extract<RegistryEvent, { type: "put" }>;
    assert.equal(put.instance.url, "http://10.0.0.7:9004");
    assert.deepEqual(counted, { registered: 2, expired: 0 });
    // The replaced registration's lease is revoked, and the removed one's.
    const leases = await client.leaseClient.leaseLeases();
    assert.deepEqual(leases.leases, []);
  });

  it("shows two nodes on one etcd the same instances and the same events", async () => {
    const {
      nodes: [a, b],
    } = await nodes(2);
    await a!.store.put(registration("a"));
    await a!.store.put(registration("b", { service: "billing" }));
    await until(() => b!.store.list().length === 2, "node b to see both services");
    assert.deepEqual(b!.store.list(), a!.store.list());
    // Node b renews and removes what node a registered.
    assert.ok(await b!.store.heartbeat("orders", "a"));
    assert.equal(await b!.store.remove("orders", "a"), true);
    await until(() => a!.events.length === 3, "node a to hear the removal");
    assert.deepEqual(b!.kinds(), a!.kinds());
    assert.deepEqual(
      a!.events.map((event) => event.type),
      ["snapshot", "put", "delete"],
    );
    assert.deepEqual(a!.store.snapshot("orders").instances, []);
  });

  it("tells how long a lease went unrenewed, from the renewals each node saw", async () => {
    const {
      nodes: [a, b],
    } = await nodes(2);
    const registered = Date.now();
    await a!.store.put(registration("a", { ttlMs: 2_000 }));
    await until(() => b!.store.list().length === 1, "node b to see the instance");
    await sleep(300);
    assert.ok(await a!.store.heartbeat("orders", "a"));
    const [first] = a!.lags;
    assert.ok(first !== undefined && first >= 290, `since the registration: ${first} ms`);
    assert.ok(first <= Date.now() - registered, `no more than since the put: ${first} ms`);
    await sleep(200);
    const beat = Date.now();
    assert.ok(await a!.store.heartbeat("orders", "a"));
    const second = a!.lags[1]!;
    assert.ok(second >= 190 && second < 1_000, `since the previous heartbeat: ${second} ms`);
    // Node b saw only the registration: from it, while that is shorter than the lease.
    assert.ok(await b!.store.heartbeat("orders", "a"));
    assert.equal(b!.lags.length, 1);
    assert.ok(b!.lags[0]! >= 490 && b!.lags[0]! < 2_000, `node b: ${b!.lags[0]} ms`);
    // Node a renews it for longer than the lease: node b's last renewal seen is older than
    // etcd keeps a lease, so it cannot tell when the last one was, and observes nothing.
    for (let i = 0; i < 5; i++) {
      await sleep(500);
      assert.ok(await a!.store.heartbeat("orders", "a"), `heartbeat ${i} on node a`);
    }
    assert.ok(Date.now() - beat > 2_000);
    assert.ok(await b!.store.heartbeat("orders", "a"), "renewed through node b");
    assert.equal(b!.lags.length, 1, "no observation from a renewal node b did not see");
    assert.equal(a!.lags.length, 7);
    assert.ok(
      a!.lags.slice(2).every((lag) => lag >= 490 && lag < 2_000),
      a!.lags.join(),
    );
  });

  it("marks an instance that missed its lease down on every node at once, then removes it", async () => {
    const {
      prefix,
      nodes: [a, b],
    } = await nodes(2, 1_500);
    await a!.store.put(registration("late"));
    await a!.store.put(registration("kept", { ttlMs: 10_000 }));
    const downAt = Date.now();
    await until(() => a!.events.some((e) => e.type === "down"), "the lease to run out", 5_000);
    // etcd grants 2 s and checks its leases twice a second.
    assert.ok(Date.now() - downAt < 4_000, `down after ${Date.now() - downAt} ms`);
    await until(() => b!.events.some((e) => e.type === "down"), "node b to see it down");
    assert.equal(
      await a!.store.heartbeat("orders", "late"),
      undefined,
      "a lapsed lease stays lapsed",
    );
    assert.equal(await b!.store.heartbeat("orders", "late"), undefined);
    const states = (store: EtcdRegistryStore) =>
      store.snapshot("orders").instances.map((instance) => `${instance.id}:${instance.state}`);
    assert.deepEqual(states(b!.store).sort(), ["kept:up", "late:down"]);
    assert.deepEqual(b!.store.list(), [{ name: "orders", instances: 2, up: 1, down: 1 }]);

    // A node that starts now reads it down.
    const late = new EtcdRegistryStore({
      connection: { endpoints: [etcd.url], prefix, timeout: 500 },
      removeAfter: 60_000,
    });
    stores.push(late);
    await late.ready();
    assert.deepEqual(states(late).sort(), ["kept:up", "late:down"]);

    await until(() => a!.events.some((e) => e.type === "delete"), "its removal", 4_000);
    await until(() => b!.events.some((e) => e.type === "delete"), "node b to see the removal");
    assert.deepEqual(b!.kinds(), a!.kinds(), "the same events, with the same numbers");
    assert.deepEqual(
      a!.events.slice(1).map((event) => event.type),
      ["put", "put", "down", "delete"],
    );
    assert.deepEqual(await keysUnder(`${prefix}registry/instances/`), [
      `${prefix}registry/instances/orders/kept`,
    ]);
    // Each node saw the lease run out; the registration was counted where it was made.
    assert.equal(a!.counted.expired, 1);
    assert.equal(b!.counted.expired, 1);
    assert.equal(b!.counted.registered, 0);
  });

  it("brings a down instance back up when it registers again, and keeps it", async () => {
    const {
      nodes: [a, b],
    } = await nodes(2, 1_000);
    await a!.store.put(registration("x"));
    await until(() => b!.events.some((e) => e.type === "down"), "the lease to run out", 5_000);
    await b!.store.put(registration("x", { ttlMs: 5_000 }));
    await sleep(1_500);
    assert.deepEqual(
      a!.events.map((event) => event.type),
      ["snapshot", "put", "down", "put"],
    );
    assert.equal(a!.store.snapshot("orders").instances[0]?.state, "up");
  });

  it("keeps every instance through etcd killed and restarted, and brings back none removed", async () => {
    const {
      prefix,
      nodes: [a, b],
    } = await nodes(2, 1_000);
    const ids = ["i1", "i2", "i3", "i4"];
    for (const id of [...ids, "gone"]) await a!.store.put(registration(id));
    assert.equal(await a!.store.remove("orders", "gone"), true);
    await until(() => b!.store.snapshot("orders").instances.length === ids.length, "node b");

    // Every instance heartbeats every 400 ms through either node, as services would.
    const lapsed: string[] = [];
    let refused = 0;
    let beating = true;
    const heartbeats = ids.map(async (id, i) => {
      const store = (i % 2 === 0 ? a : b)!.store;
      while (beating) {
        try {
          if (!(await store.heartbeat("orders", id))) lapsed.push(id);
        } catch (error) {
          if (!isGatehouseError(error, "GATEHOUSE_REGISTRY_STORE_UNAVAILABLE")) throw error;
          refused++;
        }
        await sleep(400);
      }
    });

    await sleep(500);
    await etcd.kill();
    await until(() => !a!.store.connected && !b!.store.connected, "both nodes to notice");
    await assert.rejects(a!.store.put(registration("new")), (error: Error) =>
      isGatehouseError(error, "GATEHOUSE_REGISTRY_STORE_UNAVAILABLE"),
    );
    await assert.rejects(b!.store.remove("orders", "i1"), (error: Error) =>
      isGatehouseError(error, "GATEHOUSE_REGISTRY_STORE_UNAVAILABLE"),
    );
    // Cut off, each node keeps what it knew.
    for (const { store } of [a!, b!])
      assert.deepEqual(
        store.snapshot("orders").instances.map((instance) => `${instance.id}:${instance.state}`),
        ids.map((id) => `${id}:up`),
      );
    // A node that starts while etcd is down starts empty, and fills once etcd is back.
    const late = new EtcdRegistryStore({
      connection: { endpoints: [etcd.url], prefix, timeout: 500 },
      removeAfter: 1_000,
    });
    stores.push(late);
    await late.ready();
    assert.equal(late.connected, false);
    const lateEvents: RegistryEvent[] = [];
    late.watch("orders", (event) => lateEvents.push(event));
    await sleep(1_000);
    await etcd.restart();
    await until(
      () => a!.store.connected && b!.store.connected && late.connected,
      "every node to reconnect",
      8_000,
    );
    // Longer than a lease after etcd came back: the heartbeats carried on.
    await sleep(3_000);
    beating = false;
    await Promise.all(heartbeats);

    assert.deepEqual(lapsed, [], "no instance lost its lease");
    assert.ok(refused > 0, "heartbeats were refused while etcd was down");
    for (const { store, events } of [a!, b!]) {
      assert.deepEqual(
        store.snapshot("orders").instances.map((instance) => `${instance.id}:${instance.state}`),
        ids.map((id) => `${id}:up`),
      );
      assert.deepEqual(
        events.slice(1).map((event) => event.type),
        [...ids, "gone"].map(() => "put").concat("delete"),
        "no instance went down, none came back",
      );
    }
    assert.deepEqual(
      lateEvents.map((event) => event.type),
      ["snapshot", ...ids.map(() => "put")],
    );
    assert.deepEqual(
      await keysUnder(`${prefix}registry/instances/`),
      ids.map((id) => `${prefix}registry/instances/orders/${id}`),
    );
  });
});
