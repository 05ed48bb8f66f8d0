// The SDK straight to a real etcd, no gateway in the path, next to a real gateway whose
// registry store is that etcd (same prefix): an instance the SDK registers in etcd is
// routed by the gateway, keeps its lease past its TTL, and stops being routed when it
// closes; a client following etcd calls an instance registered through the gateway's API
// (HTTP and gRPC); registrations to etcd and to the API share the process's lease thread
// and outlive one another's close; a bad instance is refused as the API refuses it; and
// etcd killed and restarted leaves both the registration and the client's calls standing.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { isDeepStrictEqual } from "node:util";
import {
  type EtcdOptions,
  type Registration,
  RegistryError,
  register,
  ServiceCallError,
  serviceClient,
} from "gatehouse-gateway/sdk";
import { request } from "undici";
import { type EtcdServer, startEtcdServer } from "../helpers/etcd-server.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { echoMethods, startGrpcEchoServer } from "../helpers/grpc-echo-server.ts";
import { registryClient } from "../helpers/registry.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("sdk straight to etcd, next to a gateway on the same etcd", () => {
  let etcd: EtcdServer;
  let gw: RunningGateway;
  let registry: ReturnType<typeof registryClient>;
  let etcdOptions: EtcdOptions;
  const stops: (() => unknown)[] = [];

  before(async () => {
    etcd = await startEtcdServer();
    etcdOptions = { endpoints: [etcd.url], prefix: "/shop/", timeout: "1s" };
    gw = await startGateway(
      testConfig({
        gateway: {
          admin: { port: 0 },
          registry: {
            store: "etcd",
            etcd: { endpoints: [etcd.url], prefix: "/shop/", timeout: "1s" },
          },
        },
        services: [{ name: "orders", discovery: { registry: { service: "orders" } } }],
        routes: [{ name: "orders", match: { paths: ["/orders"] }, service: "orders" }],
      }),
    );
    registry = registryClient(`http://127.0.0.1:${gw.gateway.addresses().admin!.port}`);
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop();
    await gw?.stop();
    await etcd?.remove();
  });

  async function upstream(name: string): Promise<Upstream> {
    const up = await startUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(name));
    });
    stops.push(() => up.close());
    return up;
  }

  async function routed(): Promise<{ status: number; body: string }> {
    const res = await request(`${gw.url}/orders`, { reset: true });
    return { status: res.statusCode, body: await res.body.text() };
  }

  it("registers in etcd: the gateway routes to it, past its TTL, until it closes", async () => {
    const up = await upstream("from-etcd");
    assert.equal((await routed()).status, 503, "no instance yet");
    const registration = await register({
      name: "orders",
      port: up.port,
      etcd: etcdOptions,
      ttl: "2s",
      version: "1.4.2",
      tags: ["stable"],
      handleSignals: false,
    });
    stops.push(() => registration.close());
    assert.equal(registration.lease?.ttlMs, 2_000);
    assert.equal(registration.lease?.url, `http://127.0.0.1:${up.port}`);
    await until(async () => (await routed()).status === 200, "the gateway to route to it");
    assert.equal((await routed()).body, '"from-etcd"');
    const listed = await registry.get("/registry/services/orders");
    assert.equal(listed.body.instances[0].id, registration.id);
    assert.equal(listed.body.instances[0].version, "1.4.2");
    assert.deepEqual(listed.body.instances[0].tags, ["stable"]);

    // Keep-alives from its worker hold the lease well past its 2 s.
    await sleep(3_000);
    assert.equal((await routed()).status, 200, "still routed after its TTL");
    const after = await registry.get("/registry/services/orders");
    assert.equal(after.body.instances[0].state, "up");

    await registration.close();
    await until(async () => (await routed()).status === 503, "the gateway to stop routing to it");
    assert.equal((await registry.get("/registry/services/orders")).status, 404);
  });

  it("keeps registrations to etcd and to the API in one process; closing one leaves the rest", async () => {
    const up = await upstream("shared");
    const adminUrl = `http://127.0.0.1:${gw.gateway.addresses().admin!.port}`;
    const options = { name: "shared", port: up.port, ttl: "2s", handleSignals: false };
    // Three straight to etcd (one etcd client between them), one through the gateway's API.
    const registrations = await Promise.all([
      ...["e1", "e2", "e3"].map((id) => register({ ...options, id, etcd: etcdOptions })),
      register({ ...options, id: "a1", registry: adminUrl }),
    ]);
    for (const registration of registrations) stops.push(() => registration.close());
    const retries: string[] = [];
    for (const registration of registrations)
      registration.on("retry", (retry: { code: string }) => retries.push(retry.code));
    const states = async () => {
      const listed = await registry.get("/registry/services/shared");
      const instances: { id: string; state: string }[] = listed.body?.instances ?? [];
      return Object.fromEntries(instances.map(({ id, state }) => [id, state]));
    };
    const all = { e1: "up", e2: "up", e3: "up", a1: "up" };
    await until(async () => isDeepStrictEqual(await states(), all), "the gateway to see all four");

    await registrations[0]!.close();
    await until(async () => !("e1" in (await states())), "e1 to be deregistered");
    // Past the TTL: the others' keep-alives and heartbeats go on without e1's.
    await sleep(3_000);
    assert.deepEqual(await states(), { e2: "up", e3: "up", a1: "up" });
    assert.deepEqual(retries, [], "no heartbeat failed");
    await Promise.all(registrations.map((registration) => registration.close()));
    await until(async () => Object.keys(await states()).length === 0, "all to be deregistered");
  });

  it("calls from etcd an instance registered through the gateway, HTTP and gRPC", async () => {
    const up = await upstream("through-the-api");
    const put = await registry.put("inventory", "i1", { address: "127.0.0.1", port: up.port });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const inventory = serviceClient("inventory", { etcd: etcdOptions });
    stops.push(() => inventory.close());
    assert.equal(await inventory.get("/stock/42"), "through-the-api");
    assert.equal(inventory.instances[0]?.id, "i1");

    const echo = await startGrpcEchoServer();
    stops.push(() => echo.kill());
    const grpcPut = await registry.put("echo", "e1", {
      address: "127.0.0.1",
      port: Number(new URL(echo.url).port),
      protocol: "grpc",
    });
    assert.equal(grpcPut.status, 201);
    const echoes = serviceClient("echo", { etcd: etcdOptions, protocol: "grpc" });
    stops.push(() => echoes.close());
    const answer = await echoes.unary(echoMethods.Unary, Buffer.from("over etcd"));
    assert.equal(answer.toString(), "over etcd");

    assert.equal((await registry.remove("inventory", "i1")).status, 204);
    await until(() => inventory.instances.length === 0, "the delete to reach the client");
    await assert.rejects(
      inventory.get("/stock/42"),
      (error: unknown) =>
        error instanceof ServiceCallError && error.code === "GATEHOUSE_NO_AVAILABLE_TARGET",
    );
  });

  it("refuses a bad instance as the registry API would, and a bad etcd option", async () => {
    await assert.rejects(
      register({
        name: "orders",
        port: 9,
        etcd: etcdOptions,
        version: "one",
        tags: ["a b"],
        handleSignals: false,
      }),
      (error: unknown) =>
        error instanceof RegistryError &&
        error.status === 400 &&
        error.code === "GATEHOUSE_REGISTRY_INVALID_INSTANCE" &&
        error.problems?.length === 2,
    );
    assert.throws(
      () => serviceClient("orders", { etcd: { hosts: [etcd.url] } as never }),
      /etcd: unknown key "hosts": the etcd members go in endpoints/,
    );
    await assert.rejects(
      register({ name: "orders", port: 9, etcd: etcdOptions, registry: "http://x" }),
      /give registry or etcd, not both/,
    );
  });

  it("keeps the registration and the client's calls through etcd killed and restarted", async () => {
    const up = await upstream("steady");
    const registration: Registration = await register({
      name: "steady",
      port: up.port,
      etcd: etcdOptions,
      ttl: "3s",
      handleSignals: false,
    });
    stops.push(() => registration.close());
    const steady = serviceClient("steady", { etcd: etcdOptions, retries: 0 });
    stops.push(() => steady.close());
    assert.equal(await steady.get("/"), "steady");
    const retries: { code: string }[] = [];
    registration.on("retry", (retry) => retries.push(retry));

    await etcd.kill();
    // The heartbeats fail; the client calls the instance it last knew.
    await until(() => retries.length > 0, "a heartbeat to fail", 5_000);
    assert.equal(retries[0]?.code, "GATEHOUSE_REGISTRY_STORE_UNAVAILABLE");
    assert.equal(await steady.get("/"), "steady");

    await etcd.restart();
    // Back: the lease is renewed (or, had it run out, the instance registers again).
    await until(
      async () =>
        (await registry.get("/registry/services/steady")).body?.instances?.[0]?.state === "up",
      "the gateway to see it up",
      10_000,
    );
    assert.equal(await steady.get("/"), "steady");
    assert.equal(steady.instances.length, 1, "none lost, none added");
  });
});
