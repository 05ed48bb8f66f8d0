// The service registry over real HTTP, served on the admin listener: an instance registers
// and the gateway routes to it at once; heartbeats keep it; a missed lease takes it out of
// traffic; deregistering drains it; a bad registration is refused whole; a watch streams it all.
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { registryClient, watchService } from "../helpers/registry.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const opened: { close(): Promise<void> }[] = [];
after(() => Promise.all(opened.map((thing) => thing.close())));

/** A gateway whose service `orders` takes its targets from the registry service `orders`. */
async function registryGateway(registry: object = {}): Promise<RunningGateway & { admin: string }> {
  const gw = await startGateway(
    testConfig({
      gateway: { admin: { port: 0 }, registry },
      services: [{ name: "orders", discovery: { registry: { service: "orders" } } }],
      routes: [{ name: "all", match: { paths: ["/*"] }, service: "orders" }],
    }),
  );
  opened.push({ close: () => gw.stop() });
  return { ...gw, admin: `http://127.0.0.1:${gw.gateway.addresses().admin!.port}` };
}

async function named(name: string): Promise<Upstream> {
  const up = await startUpstream((_req, res) => res.end(name));
  opened.push(up);
  return up;
}

async function fetchText(url: string): Promise<{ status: number; body: string }> {
  const res = await request(url);
  return { status: res.statusCode, body: await res.body.text() };
}

describe("service registry", () => {
  it("routes the first request after a registration to the new instance", async () => {
    const gw = await registryGateway();
    const up = await named("one");
    const registry = registryClient(gw.admin);
    assert.equal((await fetchText(`${gw.url}/x`)).status, 503, "no instance yet");
    const registered = await registry.put("orders", "one", { address: "127.0.0.1", port: up.port });
    assert.equal(registered.status, 201);
    assert.deepEqual(Object.keys(registered.body).sort(), [
      "expiresAt",
      "id",
      "registeredAt",
      "service",
      "ttl",
      "ttlMs",
      "url",
    ]);
    assert.equal(registered.body.url, `http://127.0.0.1:${up.port}`);
    assert.equal(registered.body.ttl, "10s");
    assert.deepEqual(await fetchText(`${gw.url}/x`), { status: 200, body: "one" });
    const again = await registry.put("orders", "one", { address: "127.0.0.1", port: up.port });
    assert.equal(again.status, 200, "the same id again replaces it");

    const listed = await registry.get("/registry/services");
    assert.deepEqual(listed.body, {
      services: [{ name: "orders", instances: 1, up: 1, down: 0 }],
    });
    const service = await registry.get("/registry/services/orders");
    assert.equal(service.status, 200);
    assert.equal(service.body.service, "orders");
    assert.equal(typeof service.body.revision, "number");
    const [instance] = service.body.instances;
    assert.equal(instance.state, "up");
    assert.equal(instance.protocol, "http");
    assert.deepEqual([instance.tags, instance.metadata, instance.weight], [[], {}, 1]);
  });

  it("keeps an instance that heartbeats, and takes one whose lease ran out out of traffic", async () => {
    const gw = await registryGateway({ removeAfter: "1m" });
    const up = await named("beating");
    const registry = registryClient(gw.admin);
    const body = { address: "127.0.0.1", port: up.port, ttl: "1s" };
    assert.equal((await registry.put("orders", "b", body)).status, 201);
    const until2500 = Date.now() + 2500;
    while (Date.now() < until2500) {
      const beat = await registry.heartbeat("orders", "b");
      assert.equal(beat.status, 200, "each heartbeat renews the lease");
      assert.equal(beat.body.ttlMs, 1000);
      assert.deepEqual(await fetchText(`${gw.url}/x`), { status: 200, body: "beating" });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const stopped = Date.now();
    await until(
      async () => (await fetchText(`${gw.url}/x`)).status === 503,
      "the lapsed instance out of traffic",
      3000,
    );
    assert.ok(Date.now() - stopped >= 600, "not before its TTL");
    const service = await registry.get("/registry/services/orders");
    assert.equal(service.body.instances[0].state, "down", "kept as down until removeAfter");
    const late = await registry.heartbeat("orders", "b");
    assert.equal(late.status, 404);
    assert.equal(late.body.error.code, "GATEHOUSE_REGISTRY_LEASE_EXPIRED");
    // Written otherwise (a trailing slash, an escaped character, a query): the same answer.
    for (const path of ["b/heartbeat/", "%62/heartbeat", "b/heartbeat?now=1"]) {
      const res = await registry.call("PUT", `/registry/services/orders/instances/${path}`);
      assert.equal(res.status, 404, path);
      assert.equal(res.body.error.code, "GATEHOUSE_REGISTRY_LEASE_EXPIRED", path);
    }
    assert.equal((await registry.put("orders", "b", body)).status, 200, "registers again");
    assert.deepEqual(await fetchText(`${gw.url}/x`), { status: 200, body: "beating" });
  });

  it("drains a deregistered instance: the request in flight finishes, no new one is sent", async () => {
    const gw = await registryGateway();
    let release: (() => void) | undefined;
    const up = await startUpstream((req, res: ServerResponse) => {
      if (req.url === "/slow") release = () => res.end("slow done");
      else res.end("fast");
    });
    opened.push(up);
    const registry = registryClient(gw.admin);
    await registry.put("orders", "d", { address: "127.0.0.1", port: up.port });
    const inFlight = fetchText(`${gw.url}/slow`);
    await until(() => release !== undefined, "the slow request at the instance");
    const removed = await registry.remove("orders", "d");
    assert.equal(removed.status, 204);
    const next = await request(`${gw.url}/fast`);
    assert.equal(next.statusCode, 503, "no new request goes to it");
    const refusal = (await next.body.json()) as { error: { code: string } };
    assert.equal(refusal.error.code, "GATEHOUSE_NO_AVAILABLE_TARGET");
    release!();
    assert.deepEqual(await inFlight, { status: 200, body: "slow done" });
    assert.equal(up.requests.length, 1);
    const gone = await registry.remove("orders", "d");
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error.code, "GATEHOUSE_REGISTRY_NOT_FOUND");
  });

  it("refuses a bad registration with every problem and stores nothing", async () => {
    const gw = await registryGateway();
    const registry = registryClient(gw.admin);
    const refused = await registry.put("orders", "bad", {
      address: "127.0.0.1",
      port: "9003",
      version: "one",
      colour: "blue",
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, "GATEHOUSE_REGISTRY_INVALID_INSTANCE");
    assert.deepEqual(refused.body.error.problems, [
      'port: expected a number, got the string "9003"',
      "version: expected a semantic version, e.g. 1.4.2",
      'colour: unknown key "colour"',
    ]);
    assert.equal(typeof refused.body.error.requestId, "string");
    const notJson = await registry.put("orders", "bad", "{not json");
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error.code, "GATEHOUSE_REGISTRY_INVALID_INSTANCE");
    const badName = await registry.put("orders", "-x", { address: "127.0.0.1", port: 1 });
    assert.equal(badName.status, 400);
    const tooLong = await registry.put("orders", "bad", {
      address: "127.0.0.1",
      port: 1,
      ttl: "1h",
    });
    assert.match(tooLong.body.error.problems[0], /maxTtl: 5m/);
    assert.deepEqual((await registry.get("/registry/services")).body, { services: [] });
    const none = await registry.get("/registry/services/orders");
    assert.equal(none.status, 404);
    assert.equal(none.body.error.code, "GATEHOUSE_REGISTRY_NOT_FOUND");
    assert.equal((await fetchText(`${gw.url}/x`)).status, 503);
  });

  it("streams a watch: the snapshot, then put, down and delete with their revisions", async () => {
    const gw = await registryGateway({ removeAfter: "500ms" });
    const up = await named("watched");
    const registry = registryClient(gw.admin);
    const watch = await watchService(gw.admin, "orders");
    try {
      assert.equal(watch.status, 200);
      assert.match(String(watch.contentType), /^text\/event-stream/);
      const snapshot = await watch.next("snapshot");
      assert.deepEqual(snapshot.data, { service: "orders", revision: 0, instances: [] });
      await registry.put("orders", "w", {
        address: "127.0.0.1",
        port: up.port,
        ttl: "1s",
        zone: "eu-1",
      });
      const put = await watch.next("put");
      assert.equal(put.id, String(put.data.revision));
      assert.equal(put.data.revision, 1);
      assert.equal(put.data.instance.id, "w");
      assert.equal(put.data.instance.zone, "eu-1");
      await registry.heartbeat("orders", "w");
      const down = await watch.next("down", 3000);
      assert.deepEqual(down.data, { revision: 2, id: "w" });
      const deleted = await watch.next("delete", 3000);
      assert.deepEqual(deleted.data, { revision: 3, id: "w" });
      await registry.put("orders", "w", { address: "127.0.0.1", port: up.port });
      assert.equal((await watch.next("put")).data.revision, 4);
      await registry.remove("orders", "w");
      assert.deepEqual((await watch.next("delete")).data, { revision: 5, id: "w" });
      assert.equal(watch.events.length, 6, "a heartbeat makes no event");
    } finally {
      watch.close();
    }
  });
});
