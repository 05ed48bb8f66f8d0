// Gateway services fed by the registry, over real HTTP: filters pick the instances, the
// targets keep their tags, version, zone and metadata, zone-aware balancing stays in the
// gateway's zone while it can, worker threads serve what the registry holds, and /status
// and /metrics count the registry.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { registryClient } from "../helpers/registry.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const stops: (() => Promise<void>)[] = [];
after(() => Promise.all(stops.map((stop) => stop())));

async function named(name: string): Promise<Upstream> {
  const up = await startUpstream((_req, res) => res.end(name));
  stops.push(() => up.close());
  return up;
}

async function start(config: Parameters<typeof testConfig>[0]) {
  const gw = await startGateway(testConfig(config));
  stops.push(() => gw.stop());
  const admin = `http://127.0.0.1:${gw.gateway.addresses().admin!.port}`;
  return { gw, admin, registry: registryClient(admin) };
}

/** The bodies of `n` requests, each on a connection of its own, as a sorted set. */
async function bodies(url: string, n: number): Promise<string[]> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const res = await request(url, { reset: true });
    seen.add(`${res.statusCode} ${await res.body.text()}`);
  }
  return [...seen].sort();
}

describe("registry discovery", () => {
  it("routes only to instances that pass the filters, and keeps what they are on the targets", async () => {
    const { gw, admin, registry } = await start({
      gateway: { admin: { port: 0 }, registry: {} },
      services: [
        {
          name: "orders",
          discovery: {
            registry: {
              service: "orders",
              tags: ["stable"],
              version: ">=1.4.0 <2",
              zone: "eu-1",
              metadata: { tier: "gold" },
            },
          },
        },
      ],
      routes: [{ name: "all", match: { paths: ["/*"] }, service: "orders" }],
    });
    const good = {
      tags: ["stable", "fast"],
      version: "1.4.2",
      zone: "eu-1",
      metadata: { tier: "gold" },
    };
    const instances: [string, object][] = [
      ["match", good],
      ["canary", { ...good, tags: ["canary"] }],
      ["old", { ...good, version: "1.3.9" }],
      ["unversioned", { ...good, version: undefined }],
      ["elsewhere", { ...good, zone: "eu-2" }],
      ["silver", { ...good, metadata: { tier: "silver" } }],
      ["grpc", { ...good, protocol: "grpc" }],
    ];
    for (const [id, fields] of instances) {
      const up = await named(id);
      const put = await registry.put("orders", id, {
        address: "127.0.0.1",
        port: up.port,
        ...fields,
      });
      assert.equal(put.status, 201, id);
    }
    assert.deepEqual(await bodies(`${gw.url}/x`, 10), ["200 match"]);
    const view = await (await request(`${admin}/runtime/services/orders`)).body.json();
    const [target] = (view as { targets: Record<string, unknown>[] }).targets;
    assert.deepEqual(
      [target!.version, target!.tags, target!.zone, target!.metadata],
      ["1.4.2", ["stable", "fast"], "eu-1", { tier: "gold" }],
    );
  });

  it("zone-aware, stays in the gateway's zone while an instance there is up, then spills over", async () => {
    const { gw, registry } = await start({
      gateway: { admin: { port: 0 }, registry: {}, zone: "eu-1" },
      services: [
        {
          name: "orders",
          loadBalancer: { zoneAware: true },
          discovery: { registry: { service: "orders" } },
        },
      ],
      routes: [{ name: "all", match: { paths: ["/*"] }, service: "orders" }],
    });
    for (const [id, zone] of [
      ["near", "eu-1"],
      ["far", "eu-2"],
    ] as const) {
      const up = await named(id);
      await registry.put("orders", id, { address: "127.0.0.1", port: up.port, zone });
    }
    assert.deepEqual(await bodies(`${gw.url}/x`, 8), ["200 near"]);
    await registry.remove("orders", "near");
    assert.deepEqual(await bodies(`${gw.url}/x`, 4), ["200 far"]);
  });

  it("with two worker threads, both serve an instance the registry holds, and both drop it when it leaves", async () => {
    const { gw, registry } = await start({
      gateway: { admin: { port: 0 }, registry: {}, workers: 2 },
      services: [{ name: "orders", discovery: { registry: { service: "orders" } } }],
      routes: [{ name: "all", match: { paths: ["/*"] }, service: "orders" }],
    });
    const up = await named("pooled");
    await registry.put("orders", "p", { address: "127.0.0.1", port: up.port });
    await until(
      async () => (await bodies(`${gw.url}/x`, 8)).join() === "200 pooled",
      "every worker serves the instance",
    );
    const before = up.requests.length;
    assert.deepEqual(await bodies(`${gw.url}/x`, 20), ["200 pooled"]);
    assert.equal(up.requests.length - before, 20);
    const status = (await (await request(`${gw.statusUrl}/status`)).body.json()) as {
      workers: { worker: number; connectionsAccepted: number }[];
      config: { version: number };
      registry: unknown;
    };
    for (const worker of status.workers)
      assert.ok(worker.connectionsAccepted > 0, `worker ${worker.worker} served none`);
    assert.equal(status.config.version, 1, "a registration is no config version");
    await registry.remove("orders", "p");
    await until(
      async () => (await bodies(`${gw.url}/x`, 8)).every((body) => body.startsWith("503 ")),
      "every worker drops the instance",
    );
  });

  it("probes an instance at the healthCheck it registered, and only that one", async () => {
    const { gw, registry } = await start({
      gateway: { admin: { port: 0 }, registry: {} },
      services: [{ name: "orders", discovery: { registry: { service: "orders" } } }],
      routes: [{ name: "all", match: { paths: ["/*"] }, service: "orders" }],
    });
    let sick = false;
    const checked = await startUpstream((req, res) => {
      if (req.url === "/ready") res.writeHead(sick ? 503 : 200).end();
      else res.end("checked");
    });
    stops.push(() => checked.close());
    const plain = await named("plain");
    await registry.put("orders", "checked", {
      address: "127.0.0.1",
      port: checked.port,
      healthCheck: { path: "/ready", interval: "100ms" },
    });
    await registry.put("orders", "plain", { address: "127.0.0.1", port: plain.port });
    const probes = () => checked.requests.filter((req) => req.url === "/ready").length;
    await until(() => probes() >= 2, "probes of the instance's path");
    assert.deepEqual(await bodies(`${gw.url}/x`, 6), ["200 checked", "200 plain"]);
    sick = true;
    await until(
      async () => (await bodies(`${gw.url}/x`, 6)).join() === "200 plain",
      "the failing instance out of rotation",
    );
    assert.equal(plain.requests.filter((req) => req.url !== "/x").length, 0, "never probed");
    sick = false;
    await until(
      async () => (await bodies(`${gw.url}/x`, 6)).length === 2,
      "the instance back once its probes pass",
    );
  });

  it("counts the registry at /status and in /metrics", async () => {
    const { gw, registry } = await start({
      gateway: { admin: { port: 0 }, registry: { removeAfter: "1m" } },
    });
    await registry.put("orders", "a", { address: "10.0.0.7", port: 9003 });
    await registry.put("orders", "a", { address: "10.0.0.7", port: 9003 });
    await registry.put("orders", "b", { address: "10.0.0.8", port: 9003, ttl: "1s" });
    await registry.put("billing", "c", { address: "10.0.0.9", port: 9003 });
    await until(
      async () =>
        (await registry.get("/registry/services/orders")).body.instances.some(
          (instance: { state: string }) => instance.state === "down",
        ),
      "b down",
      3000,
    );
    const status = (await (await request(`${gw.statusUrl}/status`)).body.json()) as {
      registry: unknown;
    };
    assert.deepEqual(status.registry, {
      store: "memory",
      connected: true,
      services: 2,
      instances: 3,
      up: 2,
      down: 1,
    });
    const metrics = await (await request(`${gw.statusUrl}/metrics`)).body.text();
    const value = (series: string) =>
      metrics.match(new RegExp(`^${series.replace(/[{}]/g, "\\$&")} (\\d+)$`, "m"))?.[1];
    assert.equal(value('gatehouse_registry_instances{service="orders",state="up"}'), "1");
    assert.equal(value('gatehouse_registry_instances{service="orders",state="down"}'), "1");
    assert.equal(value('gatehouse_registry_instances{service="billing",state="up"}'), "1");
    assert.equal(value('gatehouse_registry_registrations_total{service="orders"}'), "3");
    assert.equal(value('gatehouse_registry_expirations_total{service="orders"}'), "1");
  });

  it("observes in /metrics how long each lease went unrenewed before its heartbeat", async () => {
    const { gw, registry } = await start({ gateway: { admin: { port: 0 }, registry: {} } });
    const registered = performance.now();
    await registry.put("orders", "a", { address: "10.0.0.7", port: 9003, ttl: "10s" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await registry.heartbeat("orders", "a")).status, 200);
    assert.equal((await registry.heartbeat("orders", "a")).status, 200);
    const elapsed = (performance.now() - registered) / 1000;
    assert.equal((await registry.heartbeat("orders", "missing")).status, 404);
    const metrics = await (await request(`${gw.statusUrl}/metrics`)).body.text();
    const value = (series: string) => {
      const found = metrics.match(new RegExp(`^${series.replace(/[{}.+]/g, "\\$&")} (\\S+)$`, "m"));
      return found ? Number(found[1]) : undefined;
    };
    const lag = "gatehouse_registry_heartbeat_lag_seconds";
    assert.equal(value(`${lag}_count{service="orders"}`), 2, "one observation a heartbeat renewed");
    // The first lag runs from the registration, the second from the first heartbeat: together,
    // from the registration to the second heartbeat.
    const sum = value(`${lag}_sum{service="orders"}`)!;
    assert.ok(sum >= 0.3 && sum <= elapsed, `sum ${sum} s, ${elapsed} s in all`);
    assert.ok(value(`${lag}_bucket{le="0.25",service="orders"}`)! <= 1, "the first is over 0.25 s");
    assert.equal(value(`${lag}_bucket{le="90",service="orders"}`), 2);
    assert.equal(value(`${lag}_bucket{le="+Inf",service="orders"}`), 2);
    assert.equal(value(`${lag}_count{service="missing"}`), undefined);
  });
});
