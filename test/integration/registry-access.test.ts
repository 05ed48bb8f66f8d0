// Who may use the registry API, over real HTTP: on its own listener with registry keys, a
// registry key registers but cannot use the admin API, an admin key works too, a read-only
// key only reads, a missing or wrong key is 401, and an address outside allowedNetworks is
// refused; with no keys at all, the API on the admin listener takes loopback callers.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { keyDigest } from "../../src/config/key-digest.ts";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { registryClient, watchService } from "../helpers/registry.ts";
import { startUpstream } from "../helpers/upstream.ts";

const registryKey = "orders-registry-key-0123456789";
const readerKey = "reader-registry-key-0123456789";
const adminKey = "admin-key-0123456789abcdef";
const stops: (() => Promise<void>)[] = [];
after(() => Promise.all(stops.map((stop) => stop())));

async function keyedGateway() {
  const gw = await startGateway(
    testConfig({
      gateway: {
        admin: { port: 0, keys: [{ id: "ops", key: `sha256:${keyDigest(adminKey)}` }] },
        registry: {
          listen: { host: "127.0.0.1", port: 0 },
          keys: [
            { id: "orders", key: `sha256:${keyDigest(registryKey)}` },
            { id: "reader", key: readerKey, readOnly: true },
          ],
          allowedNetworks: ["127.0.0.0/8"],
        },
      },
      services: [{ name: "orders", discovery: { registry: { service: "orders" } } }],
      routes: [{ name: "all", match: { paths: ["/*"] }, service: "orders" }],
    }),
  );
  stops.push(() => gw.stop());
  const { admin, registry } = gw.gateway.addresses();
  assert.notEqual(registry!.port, admin!.port, "the registry has its own listener");
  return {
    gw,
    registryUrl: `http://127.0.0.1:${registry!.port}`,
    adminUrl: `http://127.0.0.1:${admin!.port}`,
  };
}

describe("registry access", () => {
  it("takes registry and admin keys on its own listener, and refuses the rest", async () => {
    const { gw, registryUrl, adminUrl } = await keyedGateway();
    const up = await startUpstream((_req, res) => res.end("keyed"));
    stops.push(() => up.close());
    const body = { address: "127.0.0.1", port: up.port };

    const anonymous = await registryClient(registryUrl).put("orders", "a", body);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error.code, "GATEHOUSE_ADMIN_UNAUTHORIZED");
    const wrong = await registryClient(registryUrl, "not-a-key-of-this-registry").put(
      "orders",
      "a",
      body,
    );
    assert.equal(wrong.status, 401);
    const reader = await registryClient(registryUrl, readerKey).put("orders", "a", body);
    assert.equal(reader.status, 403, "a read-only key cannot register");
    assert.equal(reader.body.error.code, "GATEHOUSE_ADMIN_FORBIDDEN");

    const registered = await registryClient(registryUrl, registryKey).put("orders", "a", body);
    assert.equal(registered.status, 201);
    assert.equal((await registryClient(registryUrl).heartbeat("orders", "a")).status, 401);
    const readerBeat = await registryClient(registryUrl, readerKey).heartbeat("orders", "a");
    assert.equal(readerBeat.status, 403, "a read-only key cannot renew a lease");
    assert.equal(
      (await registryClient(registryUrl, registryKey).heartbeat("orders", "a")).status,
      200,
    );
    const viaAdminKey = await registryClient(registryUrl, adminKey).put("orders", "b", body);
    assert.equal(viaAdminKey.status, 201, "admin keys work on the registry API");
    const listed = await registryClient(registryUrl, readerKey).get("/registry/services");
    assert.deepEqual(listed.body.services, [{ name: "orders", instances: 2, up: 2, down: 0 }]);
    const served = await request(`${gw.url}/x`);
    assert.equal(await served.body.text(), "keyed");

    const adminWithRegistryKey = await request(`${adminUrl}/config`, {
      headers: { authorization: `Bearer ${registryKey}` },
    });
    await adminWithRegistryKey.body.dump();
    assert.equal(adminWithRegistryKey.statusCode, 401, "a registry key is no admin key");
    const elsewhere = await registryClient(registryUrl, registryKey).get("/config");
    assert.equal(elsewhere.status, 404, "the registry listener serves the registry API alone");
    const watch = await watchService(registryUrl, "orders");
    assert.equal(watch.status, 401, "watching needs a key too");
    watch.close();
  });

  it("refuses an address outside allowedNetworks, and a host name, storing nothing", async () => {
    const { registryUrl } = await keyedGateway();
    const registry = registryClient(registryUrl, registryKey);
    for (const address of ["10.1.2.3", "::1", "orders.internal"]) {
      const refused = await registry.put("orders", "x", { address, port: 9003 });
      assert.equal(refused.status, 403, address);
      assert.equal(refused.body.error.code, "GATEHOUSE_REGISTRY_FORBIDDEN_NETWORK");
    }
    assert.deepEqual((await registry.get("/registry/services")).body.services, []);
  });

  it("with no keys anywhere, serves loopback callers on the admin listener", async () => {
    const gw = await startGateway(testConfig({ gateway: { admin: { port: 0 }, registry: {} } }));
    stops.push(() => gw.stop());
    const admin = `http://127.0.0.1:${gw.gateway.addresses().admin!.port}`;
    assert.equal(gw.gateway.addresses().registry!.port, gw.gateway.addresses().admin!.port);
    const registry = registryClient(admin);
    const put = await registry.put("orders", "a", { address: "10.0.0.7", port: 9003 });
    assert.equal(put.status, 201);
    const page = await request(`${admin}/registry/services/orders/instances/b`, {
      method: "PUT",
      headers: { origin: "https://evil.example", "content-type": "application/json" },
      body: JSON.stringify({ address: "10.0.0.8", port: 9003 }),
    });
    await page.body.dump();
    assert.equal(page.statusCode, 403, "a web page cannot register through a browser");
  });
});
