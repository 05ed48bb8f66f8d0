// The SDK against a real gateway (`gatehouse start`) that crashes and starts again on the
// same registry port, with its memory store empty: a service client in this process keeps
// calling the instances it knew while the gateway is away and after it is back, without a
// failed call, and follows the new gateway's registry once its watch reconnects (the
// instances, in processes of their own, register again by themselves; one started after
// the restart is called too). An instance the restarted registry does not get back is
// kept for one lease of its own, then dropped.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { serviceClient } from "gatehouse-gateway/sdk";
import { Agent, request } from "undici";
import { exited, freePort } from "../helpers/child-process.ts";
import { type GatehouseNode, startGatehouseNode } from "../helpers/gatehouse-node.ts";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { registryClient } from "../helpers/registry.ts";
import { type ServiceProcess, startServiceProcess } from "../helpers/sdk-service-process.ts";
import { until } from "../helpers/until.ts";
import { startUpstream } from "../helpers/upstream.ts";

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("sdk client across a gateway restart", () => {
  it("keeps calling through the restart, then follows the new gateway's registry", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-sdk-restart-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const registryPort = await freePort();
    const registry = `http://127.0.0.1:${registryPort}`;
    const file = join(dir, "gatehouse.yaml");
    await writeFile(
      file,
      [
        "gateway:",
        "  listen: [{ host: 127.0.0.1, port: 0 }]",
        "  status: { port: 0 }",
        "  admin: { port: 0 }",
        "  accessLog: { enabled: false }",
        `  registry: { listen: { host: 127.0.0.1, port: ${registryPort} } }`,
        "services: [{ name: stock, discovery: { registry: { service: stock } } }]",
        'routes: [{ name: stock, match: { paths: ["/*"] }, service: stock }]',
      ].join("\n"),
    );
    let node: GatehouseNode = await startGatehouseNode(file);
    cleanups.push(() => node.stop());

    const start = (name: string): ServiceProcess => {
      const instance = startServiceProcess({
        REGISTRY: registry,
        SERVICE: "stock",
        INSTANCE_NAME: name,
        TTL: "10s",
      });
      cleanups.push(() => instance.kill());
      return instance;
    };
    const first = [start("a"), start("b")];
    await Promise.all(first.map((instance) => instance.waitFor("registered", 20_000)));

    // Several clients: each watch reconnects after a backoff of its own, so some come back
    // before the instances have registered again with the new, empty registry.
    const clients = Array.from({ length: 6 }, () => {
      const client = serviceClient("stock", { registry, retries: 2, timeout: "2s" });
      cleanups.push(() => client.close());
      return client;
    });
    await Promise.all(clients.map((client) => client.ready()));
    assert.ok(clients.every((client) => client.instances.length === 2));

    // One caller per client, one call after another, until told to stop.
    const answers: { at: number; name: string }[] = [];
    const failures: string[] = [];
    let calling = true;
    const caller = async (client: (typeof clients)[number], n: number) => {
      while (calling) {
        try {
          answers.push({ at: Date.now(), ...(await client.get<{ name: string }>("/stock/42")) });
        } catch (error) {
          const at = Date.now() - restartedAt;
          failures.push(`client ${n}, ${at} ms after the restart: ${(error as Error).message}`);
        }
        await pause(10);
      }
    };
    let restartedAt = Number.POSITIVE_INFINITY;
    const callers = clients.map(caller);
    const answeredBy = (name: string, since: number) =>
      answers.some((answer) => answer.name === name && answer.at > since);

    // The gateway crashes: the watch stream breaks, the registry is gone for a while.
    node.process.kill("SIGKILL");
    await exited(node.process);
    const crashedAt = Date.now();
    await pause(1_000);
    assert.ok(answeredBy("a", crashedAt) && answeredBy("b", crashedAt), "calls went on meanwhile");

    node = await startGatehouseNode(file);
    restartedAt = Date.now();
    const listed = registryClient(registry);
    await until(
      async () => (await listed.get("/registry/services/stock")).body?.instances?.length === 2,
      "both instances to register again with the new gateway",
      5_000,
    );
    // A third instance, known only to the new gateway: the client's watch brings it in.
    const late = start("c");
    await late.waitFor("registered", 20_000);
    // Each watch is back within its longest backoff (5 s) and tells of the new instance.
    await until(
      () => clients.every((client) => client.instances.length === 3),
      "every client to follow the new gateway",
      10_000,
    );
    await until(() => answeredBy("c", restartedAt), "a call to the new instance", 5_000);
    await pause(300);
    calling = false;
    await Promise.all(callers);

    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} calls failed`);
    assert.ok(answeredBy("a", restartedAt) && answeredBy("b", restartedAt));
    for (const client of clients) {
      assert.equal(client.instances.length, 3);
      assert.ok(client.instances.every((instance) => instance.state === "up"));
    }
  });

  it("keeps an instance the restarted registry lacks for one lease of its own, then drops it", async () => {
    const port = await freePort();
    const registry = `http://127.0.0.1:${port}`;
    const config = testConfig({
      gateway: { registry: { listen: { host: "127.0.0.1", port } } },
      services: [{ name: "kept", discovery: { registry: { service: "kept" } } }],
      routes: [{ name: "kept", match: { paths: ["/*"] }, service: "kept" }],
    });
    const up = await startUpstream((_req, res) => res.end("up"));
    cleanups.push(() => up.close());
    const instance = (ttl: string) => ({ address: "127.0.0.1", port: up.port, ttl });
    let gateway = await startGateway(config);
    const before = registryClient(registry);
    // Registered by hand, so nothing heartbeats: "gone" will not come back.
    assert.equal((await before.put("kept", "gone", instance("2s"))).status, 201);
    assert.equal((await before.put("kept", "back", instance("30s"))).status, 201);
    const client = serviceClient("kept", { registry });
    cleanups.push(() => client.close());
    await client.ready();
    const registeredAt = client.instances.find((i) => i.id === "back")!.registeredAt;

    await gateway.stop();
    gateway = await startGateway(config);
    cleanups.push(() => gateway.stop());
    // The new registry has one registration (revision 1, below the old one's 2).
    // On a connection of its own: the pooled one was the old gateway's.
    const fresh = new Agent();
    cleanups.push(() => fresh.close());
    const again = await request(`${registry}/registry/services/kept/instances/back`, {
      method: "PUT",
      body: JSON.stringify(instance("30s")),
      headers: { "content-type": "application/json" },
      dispatcher: fresh,
    });
    assert.equal(again.statusCode, 201, await again.body.text());
    await until(
      () => client.instances.find((i) => i.id === "back")?.registeredAt !== registeredAt,
      "the client to follow the new registry",
      8_000,
    );
    const followedAt = Date.now();
    assert.deepEqual(client.instances.map((i) => i.id).sort(), ["back", "gone"], "gone is kept");
    await until(() => client.instances.length === 1, "gone to be dropped", 4_000);
    const keptFor = Date.now() - followedAt;
    assert.ok(keptFor > 1_000, `kept ${keptFor} ms of its 2 s lease`);
    assert.deepEqual(
      client.instances.map((i) => i.id),
      ["back"],
    );
  });
});
