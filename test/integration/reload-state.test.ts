// Target state across reloads: what stays keeps its state, what goes is closed gracefully.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { request } from "undici";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { startUpstream } from "../helpers/upstream.ts";

type View = {
  services: {
    name: string;
    targets: { url: string; weight: number; health: string; latencyMs: number }[];
  }[];
};

describe("reload", () => {
  it("keeps unchanged targets' state, updates weights in place, and drops removed targets", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    // A fails its health probes; B and C pass theirs.
    const a = await startUpstream((req, res) => {
      if (req.url === "/health") res.writeHead(503).end();
      else setTimeout(() => res.end("a"), 5);
    });
    const b = await startUpstream(async (req, res) => {
      if (req.url === "/slow") await held;
      res.end("b");
    });
    const c = await startUpstream((_req, res) => res.end("c"));
    const config = (targets: { url: string; weight?: number }[]) =>
      testConfig({
        services: [
          {
            name: "svc",
            targets,
            healthCheck: {
              active: { interval: "50ms", healthyThreshold: 1, unhealthyThreshold: 2 },
            },
          },
        ],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
      });
    const gw = await startGateway(config([{ url: a.url }, { url: b.url }]));
    try {
      for (let i = 0; i < 4; i++) await (await request(`${gw.url}/warm`)).body.dump();
      const [targetA, targetB] = gw.gateway.runtime.services.get("svc")!.targets;
      for (let i = 0; i < 200 && targetA!.health !== "unhealthy"; i++)
        await new Promise((r) => setTimeout(r, 10));
      assert.equal(targetA!.health, "unhealthy", "A failed its probes");
      const latencyA = targetA!.latency.value;
      assert.ok(latencyA > 0);

      // A request to B (the only healthy target) is in flight when B is removed: it still finishes.
      const slow = request(`${gw.url}/slow`);
      const slowArrived = () => b.requests.some((req) => req.url === "/slow");
      for (let i = 0; i < 200 && !slowArrived(); i++) await new Promise((r) => setTimeout(r, 5));
      assert.ok(slowArrived(), "the slow request reached B");

      const next = parseGatewayConfig(
        JSON.stringify(config([{ url: a.url, weight: 5 }, { url: c.url }])),
        "reload.yaml",
        {},
      );
      await gw.gateway.reload(next);
      const [afterA, afterC] = gw.gateway.runtime.services.get("svc")!.targets;
      assert.equal(afterA, targetA, "A is the same target, state and all");
      assert.equal(afterA!.health, "unhealthy");
      assert.equal(afterA!.weight, 5);
      assert.equal(afterA!.latency.value, latencyA);
      assert.notEqual(afterC, targetB);

      release();
      const res = await slow;
      assert.equal(res.statusCode, 200);
      assert.equal(await res.body.text(), "b", "in-flight request on the removed target finished");

      // New requests only reach C (A is unhealthy, B is gone).
      for (let i = 0; i < 3; i++)
        assert.equal(await (await request(`${gw.url}/x`)).body.text(), "c");
      const view = (await (await request(`${gw.statusUrl}/upstreams`)).body.json()) as View;
      assert.deepEqual(
        view.services[0]!.targets.map((t) => [t.url, t.weight, t.health]),
        [
          [a.url, 5, "unhealthy"],
          [c.url, 1, "healthy"],
        ],
      );
    } finally {
      release();
      await gw.stop();
      await a.close();
      await b.close();
      await c.close();
    }
  });
});
