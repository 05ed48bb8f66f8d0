import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { IKeyValue } from "etcd3";
import { until } from "../../test/helpers/until.ts";
import { encodeInstance, RegistryKeys } from "./etcd-layout.ts";
import { RegistryMirror } from "./etcd-mirror.ts";
import type { Registration } from "./instance.ts";
import type { RegistryEvent } from "./store.ts";

const keys = new RegistryKeys("/p/");

const registration = (id: string, port = 9003): Registration => ({
  service: "orders",
  id,
  address: "10.0.0.7",
  port,
  protocol: "http",
  ttlMs: 2_000,
  weight: 1,
  tags: [],
  metadata: {},
});

/** The two keys of an instance, as a read of etcd returns them. */
function instance(id: string, revision: number, port = 9003): IKeyValue[] {
  const value = encodeInstance({
    registration: registration(id, port),
    registeredAt: 0,
    lease: "7",
  });
  const kv = (key: Buffer, value: Buffer) =>
    ({ key, value, mod_revision: String(revision) }) as unknown as IKeyValue;
  return [kv(keys.instance("orders", id), value), kv(keys.lease("orders", id), Buffer.from("7"))];
}

function harness() {
  const removed: string[] = [];
  const mirror = new RegistryMirror({
    keys,
    removeAfter: 20,
    removeDown: async (service, id, revision) => {
      removed.push(`${service}/${id}@${revision}`);
    },
  });
  const events: RegistryEvent[] = [];
  mirror.watch("orders", (event) => events.push(event));
  const told = () =>
    events.map((event) => {
      const id = event.type === "put" ? event.instance.id : "id" in event ? event.id : "";
      return `${event.type}:${id}@${event.revision}`;
    });
  const read = (kvs: IKeyValue[], revision: number) =>
    mirror.apply(mirror.differences(kvs, revision), revision);
  return { mirror, told, read, removed, events };
}

describe("etcd registry mirror", () => {
  it("turns a full read into the events that make it match, numbered by the read", async () => {
    const { mirror, told, read, removed, events } = harness();
    read([...instance("a", 5), ...instance("b", 6), ...instance("c", 7)], 10);
    assert.deepEqual(told(), ["snapshot:@0", "put:a@10", "put:b@10", "put:c@10"]);

    // What a node finds after its watch was cancelled: a deregistered, b registered again,
    // c's lease ran out, d new; a key Gatehouse did not write is left out.
    const [cInstance] = instance("c", 7);
    const stray = { key: Buffer.from("/p/registry/instances/orders/bad"), value: Buffer.from("{") };
    read([...instance("b", 15, 9004), cInstance!, ...instance("d", 18), stray as IKeyValue], 20);
    assert.deepEqual(told().slice(4).sort(), ["delete:a@20", "down:c@20", "put:b@20", "put:d@20"]);
    const b = events.find(
      (event) => event.type === "put" && event.revision === 20 && event.instance.id === "b",
    );
    assert.equal(b?.type === "put" && b.instance.port, 9004);
    assert.deepEqual(mirror.list(), [{ name: "orders", instances: 3, up: 2, down: 1 }]);

    // The same read again changes nothing.
    read([...instance("b", 15, 9004), cInstance!, ...instance("d", 18)], 21);
    assert.equal(told().length, 8);
    // The down instance is removed after removeAfter: its own registration, by revision.
    await until(() => removed.length === 1, "the removal", 1_000);
    assert.deepEqual(removed, ["orders/c@7"]);
    mirror.close();
  });

  it("tells a deregistration (both keys at one revision) as one delete, a missed lease as down", () => {
    const { mirror, told } = harness();
    const [aInstance, aLease] = instance("a", 3);
    const [bInstance, bLease] = instance("b", 4);
    mirror.apply(
      [aInstance!, aLease!].map((kv) => ({
        key: keys.parse(kv.key)!,
        value: kv.value,
        revision: 3,
      })),
      3,
    );
    mirror.apply(
      [bInstance!, bLease!].map((kv) => ({
        key: keys.parse(kv.key)!,
        value: kv.value,
        revision: 4,
      })),
      4,
    );
    // The lease key first, as a transaction may list it.
    mirror.apply(
      [aLease!, aInstance!].map((kv) => ({
        key: keys.parse(kv.key)!,
        value: undefined,
        revision: 5,
      })),
      5,
    );
    mirror.apply([{ key: keys.parse(bLease!.key)!, value: undefined, revision: 6 }], 6);
    assert.deepEqual(told(), ["snapshot:@0", "put:a@3", "put:b@4", "delete:a@5", "down:b@6"]);
    mirror.close();
  });
});
