// A registration storm on the real gateway's registry: 200 instances registered at once by
// the SDK's register() in one process (test/fixtures/sdk/many-instances.ts) are all
// routable by the time the last registration is answered, each takes its share of
// round-robin traffic, and a SIGTERM to the process deregisters all 200 before it exits.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import { exited } from "../helpers/child-process.ts";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { registryClient } from "../helpers/registry.ts";
import { startServiceProcess } from "../helpers/sdk-service-process.ts";

const fixture = fileURLToPath(new URL("../fixtures/sdk/many-instances.ts", import.meta.url));
const count = 200;

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("sdk registration storm", () => {
  it(`${count} instances registered at once from one process are all routable`, async () => {
    const gw = await startGateway(
      testConfig({
        gateway: { registry: { listen: { host: "127.0.0.1", port: 0 } } },
        services: [{ name: "storm", discovery: { registry: { service: "storm" } } }],
        routes: [{ name: "storm", match: { paths: ["/*"] }, service: "storm" }],
      }),
    );
    cleanups.push(() => gw.stop());
    const registry = `http://127.0.0.1:${gw.gateway.addresses().registry!.port}`;
    const storm = startServiceProcess({ REGISTRY: registry, COUNT: String(count) }, fixture);
    cleanups.push(() => storm.kill());
    const registered = await storm.waitFor("registered", 60_000);
    assert.equal(registered.count, count);
    // One lease thread for all 200: about half a second here (a thread each took minutes).
    assert.ok((registered.ms as number) < 10_000, `registered in ${registered.ms} ms`);

    // Routable already: the gateway answered each registration once it was a target.
    const upstreams = (await (await fetch(`${gw.statusUrl}/upstreams`)).json()) as {
      services: { name: string; targets: unknown[] }[];
    };
    const targets = upstreams.services.find((service) => service.name === "storm")?.targets;
    assert.equal(targets?.length, count);
    const agent = new Agent({ connections: 8 });
    cleanups.push(() => agent.close());
    const seen = new Map<string, number>();
    for (let i = 0; i < 2 * count; i++) {
      const res = await request(`${gw.url}/who`, { dispatcher: agent });
      const body = await res.body.text();
      assert.equal(res.statusCode, 200, body);
      seen.set(body, (seen.get(body) ?? 0) + 1);
    }
    assert.equal(seen.size, count, "every instance answered");
    assert.ok(
      [...seen.values()].every((n) => n === 2),
      "round-robin: two requests each",
    );

    // SIGTERM: every registration of the process deregisters, then it exits by the signal.
    storm.process.kill("SIGTERM");
    await exited(storm.process);
    assert.equal(storm.process.signalCode, "SIGTERM", storm.stderr());
    const list = await registryClient(registry).get("/registry/services");
    assert.deepEqual(list.body.services, [], "no instance left, none left to its lease");
    assert.equal(storm.stderr(), "", "no warning (one signal listener for all registrations)");
  });
});
