// The SDK's register(): against a real HTTP server that speaks the registry contract
// (test/helpers/registry-stub-server.ts), and with services in real child processes for
// signals and for a main thread kept busy past its TTL.
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { RegistryError, register } from "gatehouse-gateway/sdk";
import { exited } from "../helpers/child-process.ts";
import { type RegistryStub, startRegistryStub } from "../helpers/registry-stub-server.ts";
import { startServiceProcess } from "../helpers/sdk-service-process.ts";
import { until } from "../helpers/until.ts";

describe("sdk register()", () => {
  let stub: RegistryStub;

  before(async () => {
    stub = await startRegistryStub({ keys: ["orders-key"] });
  });

  after(async () => {
    await stub.close();
  });

  const heartbeats = (id: string) =>
    stub.requests.filter((r) => r.path.endsWith(`/${id}/heartbeat`) && r.status === 200);

  it("registers, heartbeats at a third of the TTL, and deregisters on close()", async () => {
    const registration = await register({
      name: "orders",
      port: 9101,
      registry: stub.url,
      key: "orders-key",
      ttl: "600ms",
      version: "1.4.2",
      zone: "eu-1",
      tags: ["canary"],
      metadata: { team: "shop" },
      handleSignals: false,
    });
    assert.equal(registration.id, "127.0.0.1-9101");
    assert.equal(registration.lease?.ttlMs, 600);
    assert.equal(registration.lease?.url, "http://127.0.0.1:9101");
    const [instance] = stub.instances("orders");
    assert.equal(instance?.address, "127.0.0.1", "the registry is on loopback: so is the address");
    assert.deepEqual(instance?.tags, ["canary"]);
    assert.deepEqual(instance?.metadata, { team: "shop" });
    assert.equal(instance?.version, "1.4.2");

    const start = Date.now();
    await until(() => heartbeats(registration.id).length >= 4, "four heartbeats", 3_000);
    const elapsed = Date.now() - start;
    // Every 200 ms, so four take about 800 ms: far less than 4 TTLs, more than 4 × 100 ms.
    assert.ok(elapsed >= 400 && elapsed < 1_500, `four heartbeats took ${elapsed} ms`);
    assert.equal(stub.instances("orders")[0]?.state, "up");

    await registration.close();
    assert.equal(registration.state, "closed");
    assert.deepEqual(stub.instances("orders"), []);
    assert.equal(stub.events.at(-1)?.event, "delete");
    const count = heartbeats(registration.id).length;
    await new Promise((resolve) => setTimeout(resolve, 450));
    assert.equal(heartbeats(registration.id).length, count, "no heartbeat after close");
  });

  it("rejects with the registry's refusal: a wrong key, an invalid instance", async () => {
    await assert.rejects(
      register({
        name: "orders",
        port: 9102,
        registry: stub.url,
        key: "wrong",
        handleSignals: false,
      }),
      (error: unknown) =>
        error instanceof RegistryError &&
        error.status === 401 &&
        error.code === "GATEHOUSE_ADMIN_UNAUTHORIZED",
    );
    await assert.rejects(
      register({
        name: "orders",
        port: 9102,
        registry: stub.url,
        key: "orders-key",
        weight: 0,
        handleSignals: false,
      }),
      (error: unknown) =>
        error instanceof RegistryError &&
        error.status === 400 &&
        error.code === "GATEHOUSE_REGISTRY_INVALID_INSTANCE" &&
        error.problems?.some((p) => p.startsWith("weight")) === true,
    );
    assert.deepEqual(stub.instances("orders"), []);
    await assert.rejects(register({ name: "orders", port: 0, registry: stub.url }), /port/);
  });

  it("registers again when its lease is lost (a restarted registry forgot it)", async () => {
    const registration = await register({
      name: "lost",
      port: 9103,
      registry: stub.url,
      key: "orders-key",
      ttl: "300ms",
      handleSignals: false,
    });
    const again = new Promise((resolve) => registration.once("registered", resolve));
    stub.forget();
    // The next heartbeat (≤ 100 ms) is answered 404; the instance is registered again at once.
    await again;
    assert.equal(stub.instances("lost")[0]?.state, "up");
    await registration.close();
  });

  it("keeps trying while the registry is unreachable, and registers once it is back", async () => {
    const own = await startRegistryStub();
    await own.stop();
    const retries: unknown[] = [];
    const registration = register({
      name: "patient",
      port: 9104,
      registry: own.url,
      ttl: "1s",
      handleSignals: false,
    });
    let registered = false;
    void registration.then(() => {
      registered = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(registered, false, "not registered while the registry is away");
    await own.start();
    const done = await registration;
    done.on("retry", (retry) => retries.push(retry));
    assert.equal(own.instances("patient")[0]?.state, "up");
    // The registry goes away again while registered: heartbeats fail and are retried.
    await own.stop();
    await until(() => retries.length >= 2, "heartbeat retries", 3_000);
    await own.start();
    await until(
      () => own.requests.some((r) => r.path.endsWith("/heartbeat") && r.status === 200),
      "a heartbeat after the registry came back",
      3_000,
    );
    assert.equal(own.instances("patient")[0]?.state, "up");
    await done.close();
    await own.close();
  });
});

describe("sdk register() in a service process", () => {
  let stub: RegistryStub;

  before(async () => {
    stub = await startRegistryStub();
  });

  after(async () => {
    await stub.close();
  });

  it("deregisters on SIGTERM, lets the request in flight finish, then exits by the signal", async () => {
    const service = startServiceProcess({ REGISTRY: stub.url, SERVICE: "sigterm", SLOW_MS: "400" });
    try {
      const { port } = await service.waitFor("listening");
      await service.waitFor("registered");
      assert.equal(stub.instances("sigterm").length, 1);
      // A slow request in flight when the signal comes.
      const answer = new Promise<number>((resolve, reject) => {
        request({ host: "127.0.0.1", port: port as number, path: "/slow" }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        })
          .on("error", reject)
          .end();
      });
      await service.waitFor("request");
      service.process.kill("SIGTERM");
      assert.equal(await answer, 200, "the request in flight was answered");
      await exited(service.process);
      assert.equal(service.process.signalCode, "SIGTERM");
      assert.deepEqual(stub.instances("sigterm"), [], "deregistered before exiting");
      const deleted = stub.events.find((e) => e.service === "sigterm" && e.event === "delete");
      assert.ok(deleted, "a delete event, not a lease running out");
    } finally {
      await service.kill();
    }
  });

  it("with handleSignals false, SIGTERM ends the process without deregistering", async () => {
    const service = startServiceProcess({
      REGISTRY: stub.url,
      SERVICE: "unhandled",
      HANDLE_SIGNALS: "0",
    });
    try {
      await service.waitFor("registered");
      service.process.kill("SIGTERM");
      await exited(service.process);
      assert.equal(service.process.signalCode, "SIGTERM");
      assert.equal(stub.instances("unhandled")[0]?.state, "up", "left to its lease");
    } finally {
      await service.kill();
    }
  });

  it("stays registered while its main thread is blocked for three times its TTL", async () => {
    const service = startServiceProcess({
      REGISTRY: stub.url,
      SERVICE: "busy",
      TTL: "500ms",
      BLOCK_MS: "1500",
    });
    try {
      await service.waitFor("registered");
      const blocking = await service.waitFor("blocking");
      const unblocked = await service.waitFor("unblocked");
      assert.ok(unblocked.at - blocking.at >= 1500);
      const during = stub.requests.filter(
        (r) =>
          r.path.includes("/busy/instances/") &&
          r.path.endsWith("/heartbeat") &&
          r.at > blocking.at &&
          r.at < unblocked.at,
      );
      // A heartbeat every ~167 ms went on while the main thread was blocked.
      assert.ok(during.length >= 6, `${during.length} heartbeats while blocked`);
      assert.ok(during.every((r) => r.status === 200));
      assert.deepEqual(
        stub.events.filter((e) => e.service === "busy").map((e) => e.event),
        ["put"],
        "never marked down",
      );
      assert.equal(stub.instances("busy")[0]?.state, "up");
    } finally {
      await service.kill();
    }
  });
});
