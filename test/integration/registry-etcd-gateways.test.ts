// Two real `gatehouse start` processes sharing the service registry through one real etcd
// (`gateway.registry.store: etcd`; one node with a connection of its own, the other through
// its etcd config store's): an instance registered through one node is routed by
// the other, and a deregistration through either stops the routing on both; etcd down:
// both go on routing to the instances they knew, say so in /status and the metric, and
// answer registrations with 503 until etcd is back.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type EtcdServer, startEtcdServer } from "../helpers/etcd-server.ts";
import { type GatehouseNode, startGatehouseNode } from "../helpers/gatehouse-node.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const connectedMetric = /gatehouse_registry_store_connected\{store="etcd"\} (\d)/;

describe("registry on etcd: two gateway nodes", () => {
  let etcd: EtcdServer;
  let dir: string;
  let upstream: Upstream;
  const nodes: GatehouseNode[] = [];

  before(async () => {
    etcd = await startEtcdServer();
    dir = await mkdtemp(join(tmpdir(), "gatehouse-registry-etcd-"));
    upstream = await startUpstream((_req, res) => res.end("instance"));
    const connection = `{ endpoints: ["${etcd.url}"], prefix: /shop/, timeout: 500ms }`;
    // Node a gives the registry a connection of its own; node b shares its config store's.
    const files = [
      ["    store: etcd", `    etcd: ${connection}`],
      ["    store: etcd", "  configStore:", `    etcd: ${connection}`],
    ].map(async (lines, i) => {
      const file = join(dir, `gatehouse-${i}.yaml`);
      await writeFile(
        file,
        [
          "gateway:",
          "  listen: [{ host: 127.0.0.1, port: 0 }]",
          "  status: { port: 0 }",
          "  admin: { port: 0 }",
          "  shutdownTimeout: 1s",
          "  accessLog: { enabled: false }",
          "  registry:",
          ...lines,
          "services:",
          "  - name: orders",
          "    discovery: { registry: { service: orders } }",
          'routes: [{ name: orders, match: { paths: ["/orders"] }, service: orders }]',
        ].join("\n"),
      );
      return file;
    });
    for (const file of await Promise.all(files)) nodes.push(await startGatehouseNode(file));
  });

  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await upstream?.close();
    await etcd?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  const register = (node: GatehouseNode, id: string) =>
    node.admin("PUT", `/registry/services/orders/instances/${id}`, {
      address: "127.0.0.1",
      port: upstream.port,
      ttl: "10s",
    });
  const status = async (node: GatehouseNode) =>
    // biome-ignore lint/suspicious/noExplicitAny: the test reads what /status holds
    (await (await fetch(`${node.statusUrl}/status`)).json()) as any;

  it("routes on one node an instance registered through the other, until it deregisters", async () => {
    const [a, b] = nodes as [GatehouseNode, GatehouseNode];
    assert.equal(await b.get("/orders"), 503, "no instance yet");
    const registered = await register(a, "o1");
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    await until(async () => (await b.get("/orders")) === 200, "node b to route to it", 3_000);
    const listed = await b.admin("GET", "/registry/services/orders");
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.instances.map((instance: { id: string; state: string }) => [
        instance.id,
        instance.state,
      ]),
      [["o1", "up"]],
    );
    // A heartbeat through either node renews the one lease, and is observed where it came.
    assert.equal(
      (await b.admin("PUT", "/registry/services/orders/instances/o1/heartbeat")).status,
      200,
    );
    const lags = /gatehouse_registry_heartbeat_lag_seconds_count\{service="orders"\} (\d+)/;
    assert.equal(await b.metric(lags), 1);
    assert.equal(await a.metric(lags), undefined);
    assert.equal((await b.admin("DELETE", "/registry/services/orders/instances/o1")).status, 204);
    await until(
      async () => (await a.get("/orders")) === 503,
      "node a to stop routing to it",
      3_000,
    );
    assert.equal((await a.admin("GET", "/registry/services/orders")).status, 404);
  });

  it("goes on routing while etcd is down, says so, and refuses registrations until it is back", async () => {
    const [a, b] = nodes as [GatehouseNode, GatehouseNode];
    assert.equal((await register(a, "o2")).status, 201);
    await until(async () => (await b.get("/orders")) === 200, "node b to route to it", 3_000);
    assert.equal((await status(b)).registry.connected, true);
    assert.equal(await b.metric(connectedMetric), 1);

    await etcd.kill();
    await until(
      async () => (await status(a)).registry.connected === false,
      "node a to say it is cut off",
    );
    await until(async () => (await b.metric(connectedMetric)) === 0, "node b's metric");
    assert.deepEqual((await status(b)).registry, {
      store: "etcd",
      connected: false,
      services: 1,
      instances: 1,
      up: 1,
      down: 0,
    });
    assert.equal(await a.get("/orders"), 200, "the last known instance keeps its traffic");
    assert.equal(await b.get("/orders"), 200);
    const refused = await register(b, "o3");
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error.code, "GATEHOUSE_REGISTRY_STORE_UNAVAILABLE");

    await etcd.restart();
    await until(
      async () => (await status(a)).registry.connected && (await status(b)).registry.connected,
      "both nodes to follow etcd again",
      8_000,
    );
    assert.equal(await a.metric(connectedMetric), 1);
    assert.equal((await register(b, "o3")).status, 201);
    await until(
      async () => (await a.admin("GET", "/registry/services/orders")).body?.instances?.length === 2,
      "node a to see the registration made after etcd came back",
      3_000,
    );
  });
});
