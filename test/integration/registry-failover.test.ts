// The SDK given several registry URLs (gateway nodes): a service in its own process
// registers through the first node that answers and heartbeats there; the node is stopped
// and the heartbeats go on through the next, and so does a service client's watch. On two
// `gatehouse start` processes sharing one real etcd, the lease itself goes on (no new
// registration); on two gateways with a memory store each, the instance registers on the
// second node when its heartbeat there is answered 404. A node answering 503 is passed over.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { serviceClient } from "gatehouse-gateway/sdk";
import { exited } from "../helpers/child-process.ts";
import { startEtcdServer } from "../helpers/etcd-server.ts";
import { type GatehouseNode, startGatehouseNode } from "../helpers/gatehouse-node.ts";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { registryClient } from "../helpers/registry.ts";
import { startServiceProcess } from "../helpers/sdk-service-process.ts";
import { until } from "../helpers/until.ts";
import { startUpstream } from "../helpers/upstream.ts";

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Heartbeats a node took, from its heartbeat lag histogram. */
const heartbeatsTaken =
  /^gatehouse_registry_heartbeat_lag_seconds_count\{service="orders"\} (\d+)$/m;

/** Two `gatehouse start` nodes whose registry (on their admin listener) is one etcd's. */
async function etcdNodes(): Promise<[GatehouseNode, GatehouseNode]> {
  const etcd = await startEtcdServer();
  cleanups.push(() => etcd.remove());
  const dir = await mkdtemp(join(tmpdir(), "gatehouse-registry-failover-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const nodes: GatehouseNode[] = [];
  for (const name of ["a", "b"]) {
    const file = join(dir, `${name}.yaml`);
    await writeFile(
      file,
      [
        "gateway:",
        "  listen: [{ host: 127.0.0.1, port: 0 }]",
        "  status: { port: 0 }",
        "  admin: { port: 0 }",
        "  shutdownTimeout: 1s",
        "  accessLog: { enabled: false }",
        `  registry: { store: etcd, etcd: { endpoints: ["${etcd.url}"], prefix: /shop/, timeout: 500ms } }`,
        "services: [{ name: orders, discovery: { registry: { service: orders } } }]",
        'routes: [{ name: orders, match: { paths: ["/orders"] }, service: orders }]',
      ].join("\n"),
    );
    const node = await startGatehouseNode(file);
    cleanups.push(() => node.stop());
    nodes.push(node);
  }
  return nodes as [GatehouseNode, GatehouseNode];
}

/** The ids and states of the instances of `orders` a registry lists. */
async function listed(registry: string): Promise<string[]> {
  const { status, body } = await registryClient(registry).get("/registry/services/orders");
  if (status === 404) return [];
  return body.instances.map((i: { id: string; state: string }) => `${i.id}:${i.state}`).sort();
}

describe("SDK with several registry URLs", () => {
  it("etcd store: the first node stopped, heartbeats and the client's watch go on through the second", async () => {
    const [a, b] = await etcdNodes();
    const service = startServiceProcess({
      GATEHOUSE_REGISTRY: `${a.adminUrl},${b.adminUrl}`,
      SERVICE: "orders",
      INSTANCE_NAME: "one",
      TTL: "3s",
    });
    cleanups.push(() => service.kill());
    const { id } = (await service.waitFor("registered", 20_000)) as unknown as { id: string };
    const client = serviceClient("orders", { registry: [a.adminUrl, b.adminUrl] });
    cleanups.push(() => client.close());
    await client.ready(5_000);
    assert.deepEqual(await client.get("/x"), { name: "one", url: "/x" });

    // Heartbeats every second, all to the first node.
    await until(
      async () => ((await a.metric(heartbeatsTaken)) ?? 0) >= 1,
      "a heartbeat on a",
      5_000,
    );
    assert.equal(await b.metric(heartbeatsTaken), undefined, "none on the second node");

    await a.stop();
    await until(
      async () => ((await b.metric(heartbeatsTaken)) ?? 0) >= 3,
      "three heartbeats on b",
      8_000,
    );
    // Past two TTLs since a stopped: still the same lease, renewed through b.
    assert.deepEqual(
      service.events.filter((event) => event.event === "re-registered"),
      [],
      "no registration again: the lease in etcd went on",
    );
    assert.deepEqual(await listed(b.adminUrl), [`${id}:up`]);
    assert.equal(await b.get("/orders"), 200);

    // The client follows b now: an instance registered there is called.
    const late = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ name: "late" }));
    });
    cleanups.push(() => late.close());
    const put = await b.admin("PUT", "/registry/services/orders/instances/late", {
      address: "127.0.0.1",
      port: late.port,
      ttl: "1m",
    });
    assert.equal(put.status, 201);
    await until(
      async () => ((await client.get("/x")) as { name: string }).name === "late",
      "the client to call the instance registered through b",
      5_000,
    );

    // Deregistered through b on SIGTERM: gone from the registry, not down.
    service.process.kill("SIGTERM");
    await exited(service.process);
    assert.deepEqual(await listed(b.adminUrl), ["late:up"]);
  });

  it("memory store: passes over a node answering 503, and registers on the next node once the first stops", async () => {
    const refusing = await startUpstream((_req, res) => {
      res.writeHead(503, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          error: { code: "GATEHOUSE_REGISTRY_STORE_UNAVAILABLE", message: "down" },
        }),
      );
    });
    cleanups.push(() => refusing.close());
    const registries: string[] = [];
    const gateways = [];
    for (let i = 0; i < 2; i++) {
      const gw = await startGateway(
        testConfig({
          gateway: { registry: { listen: { host: "127.0.0.1", port: 0 } } },
          services: [{ name: "orders", discovery: { registry: { service: "orders" } } }],
          routes: [{ name: "orders", match: { paths: ["/*"] }, service: "orders" }],
        }),
      );
      cleanups.push(() => gw.stop());
      gateways.push(gw);
      registries.push(`http://127.0.0.1:${gw.gateway.addresses().registry!.port}`);
    }
    const [first, second] = registries as [string, string];
    const service = startServiceProcess({
      GATEHOUSE_REGISTRY: [refusing.url, first, second].join(","),
      SERVICE: "orders",
      INSTANCE_NAME: "one",
      TTL: "2s",
    });
    cleanups.push(() => service.kill());
    const { id } = (await service.waitFor("registered", 20_000)) as unknown as { id: string };
    assert.equal(refusing.requests.length, 1, "the registration went there first");
    assert.deepEqual(await listed(first), [`${id}:up`]);
    assert.deepEqual(await listed(second), []);

    await gateways[0]!.stop();
    // Its heartbeat on the second node is answered 404 (that registry never had it): it
    // registers there, not on the node answering 503, which comes after it in the list.
    await service.waitFor("re-registered", 5_000);
    assert.deepEqual(await listed(second), [`${id}:up`]);
    assert.equal(refusing.requests.length, 1);
    const registered = Date.now();
    await until(
      async () => {
        const { body } = await registryClient(second).get("/registry/services/orders");
        return Date.parse(body.instances[0].lastHeartbeat) > registered;
      },
      "a heartbeat on the second node",
      3_000,
    );
    const res = await fetch(`${gateways[1]!.url}/x`);
    assert.deepEqual(await res.json(), { name: "one", url: "/x" });
  });
});
