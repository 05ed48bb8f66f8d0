// Active health checks over real sockets: a target failing its probes stops getting
// traffic and returns when it recovers; across a reload removed targets stop being probed
// at once and new ones start (unknown until their first passing probe when so configured).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { request } from "undici";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const probes = (up: Upstream) => up.requests.filter((req) => req.url === "/health").length;

function healthAware(name: string, state: { healthy: boolean }) {
  return startUpstream((req, res) => {
    if (req.url === "/health") res.writeHead(state.healthy ? 200 : 503).end();
    else res.end(name);
  });
}

const active = { interval: "50ms", timeout: "200ms", healthyThreshold: 2, unhealthyThreshold: 2 };

describe("active health checks", () => {
  it("takes a target out when its probes fail and back when they pass", async () => {
    const aState = { healthy: true };
    const a = await healthAware("a", aState);
    const b = await healthAware("b", { healthy: true });
    const gw = await startGateway(
      testConfig({
        services: [
          { name: "svc", targets: [{ url: a.url }, { url: b.url }], healthCheck: { active } },
        ],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
      }),
    );
    const [targetA] = gw.gateway.runtime.services.get("svc")!.targets;
    try {
      aState.healthy = false;
      await until(() => targetA!.health === "unhealthy", "a to be marked unhealthy");
      for (let i = 0; i < 4; i++)
        assert.equal(await (await request(`${gw.url}/x`)).body.text(), "b");
      aState.healthy = true;
      await until(() => targetA!.health === "healthy", "a to recover");
      const bodies: string[] = [];
      for (let i = 0; i < 4; i++) bodies.push(await (await request(`${gw.url}/x`)).body.text());
      assert.deepEqual(bodies.sort(), ["a", "a", "b", "b"]);
    } finally {
      await gw.stop();
      await a.close();
      await b.close();
    }
  });

  it("stops probing removed targets at once and starts on added ones, unknown until they pass", async () => {
    const a = await healthAware("a", { healthy: true });
    const b = await healthAware("b", { healthy: true });
    const config = (urls: string[]) =>
      testConfig({
        services: [
          {
            name: "svc",
            targets: urls.map((url) => ({ url })),
            healthCheck: { active, initialState: "unknown" },
          },
        ],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
      });
    const gw = await startGateway(config([a.url]));
    try {
      const targetA = gw.gateway.runtime.services.get("svc")!.targets[0]!;
      assert.equal(targetA.health, "unknown", "no traffic before a probe passed");
      const refused = await request(`${gw.url}/x`);
      assert.equal(refused.statusCode, 503);
      await refused.body.dump();
      await until(() => targetA.health === "healthy", "a's first passing probes");

      await gw.gateway.reload(parseGatewayConfig(JSON.stringify(config([b.url])), "r.yaml", {}));
      const probesOfA = probes(a);
      await until(() => probes(b) >= 2, "b to be probed");
      assert.equal(probes(a), probesOfA, "no probe of a removed target after the reload");
      await until(async () => {
        const res = await request(`${gw.url}/x`);
        return (await res.body.text()) === "b";
      }, "b to take traffic");
    } finally {
      await gw.stop();
      await a.close();
      await b.close();
    }
  });
});
