// serviceClient()'s filters and zone over a real gateway registry: a client calls only the
// instances that pass its tags, version range, zone and metadata filters (as the gateway's
// `discovery.registry` does), and one told its own zone keeps its calls in that zone while
// an instance there can take them.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type ServiceClient, serviceClient } from "gatehouse-gateway/sdk";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { registryClient } from "../helpers/registry.ts";
import { until } from "../helpers/until.ts";
import { startUpstream } from "../helpers/upstream.ts";

describe("sdk serviceClient(): filters and zone", () => {
  let gw: RunningGateway;
  let base: string;
  let registry: ReturnType<typeof registryClient>;
  const stops: (() => Promise<unknown>)[] = [];

  before(async () => {
    gw = await startGateway(testConfig({ gateway: { admin: { port: 0 }, registry: {} } }));
    base = `http://127.0.0.1:${gw.gateway.addresses().admin!.port}`;
    registry = registryClient(base);
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop();
    await gw.stop();
  });

  /** Registers an instance answering its own id, with `fields` on top of its address. */
  async function instance(service: string, id: string, fields: object = {}): Promise<void> {
    const up = await startUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(id));
    });
    stops.push(() => up.close());
    const put = await registry.put(service, id, { address: "127.0.0.1", port: up.port, ...fields });
    assert.equal(put.status, 201, JSON.stringify(put.body));
  }

  function client(service: string, options: Parameters<typeof serviceClient>[1] = {}) {
    const made = serviceClient(service, { registry: base, ...options });
    stops.push(() => made.close());
    return made;
  }

  /** Who answered `n` calls, as a sorted set. */
  async function answered(of: ServiceClient, n: number): Promise<string[]> {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add(await of.get<string>("/who"));
    return [...seen].sort();
  }

  it("calls only the instances that pass its filters, as the registry changes", async () => {
    const good = {
      tags: ["stable", "fast"],
      version: "1.4.2",
      zone: "eu-1",
      metadata: { tier: "gold" },
    };
    await instance("orders", "match", good);
    await instance("orders", "canary", { ...good, tags: ["canary"] });
    await instance("orders", "old", { ...good, version: "1.3.9" });
    await instance("orders", "unversioned", { ...good, version: undefined });
    await instance("orders", "elsewhere", { ...good, zone: "eu-2" });
    await instance("orders", "silver", { ...good, metadata: { tier: "silver" } });
    const filtered = client("orders", {
      filter: { tags: ["stable"], version: ">=1.4.0 <2", zone: "eu-1", metadata: { tier: "gold" } },
    });
    const everyone = client("orders");
    await filtered.ready();
    assert.equal(filtered.instances.length, 6, "it hears of every instance");
    assert.deepEqual(await answered(filtered, 12), ["match"]);
    assert.deepEqual(await answered(everyone, 12), [
      "canary",
      "elsewhere",
      "match",
      "old",
      "silver",
      "unversioned",
    ]);

    // The old instance registers again with a version in the range: it is called from then on.
    const old = filtered.instances.find((i) => i.id === "old")!;
    await registry.put("orders", "old", { address: "127.0.0.1", port: old.port, ...good });
    await until(
      () => filtered.instances.find((i) => i.id === "old")?.version === "1.4.2",
      "the put event",
    );
    assert.deepEqual(await answered(filtered, 12), ["match", "old"]);
  });

  it("keeps calls in its own zone while an instance there is up, then goes elsewhere", async () => {
    await instance("stock", "eu1-a", { zone: "eu-1" });
    await instance("stock", "eu1-b", { zone: "eu-1" });
    await instance("stock", "eu2-a", { zone: "eu-2" });
    const local = client("stock", { zone: "eu-1" });
    const anywhere = client("stock", { zone: "eu-1", loadBalancer: { zoneAware: false } });
    await local.ready();
    await anywhere.ready();
    assert.deepEqual(await answered(local, 12), ["eu1-a", "eu1-b"]);
    assert.deepEqual(await answered(anywhere, 12), ["eu1-a", "eu1-b", "eu2-a"]);

    await registry.remove("stock", "eu1-a");
    await until(() => local.instances.length === 2, "eu1-a's delete event");
    assert.deepEqual(await answered(local, 6), ["eu1-b"]);
    await registry.remove("stock", "eu1-b");
    await until(() => local.instances.length === 1, "eu1-b's delete event");
    assert.deepEqual(await answered(local, 6), ["eu2-a"], "no instance left in eu-1");

    await instance("stock", "eu1-c", { zone: "eu-1" });
    await until(() => local.instances.length === 2, "eu1-c's put event");
    assert.deepEqual(await answered(local, 6), ["eu1-c"], "back in its zone");
  });

  it("refuses filters and zone settings the gateway's config would refuse", () => {
    assert.throws(
      () => client("orders", { filter: { version: "one point four" } }),
      (error: unknown) =>
        error instanceof TypeError &&
        /^serviceClient\("orders"\): filter\.version: expected a semver range/.test(error.message),
    );
    assert.throws(() => client("orders", { filter: { label: "x" } as never }), /filter: .*label/);
    assert.throws(
      () => client("orders", { loadBalancer: { zoneAware: true } }),
      /loadBalancer\.zoneAware: zone-aware picking needs the caller's zone: pass zone/,
    );
  });
});
