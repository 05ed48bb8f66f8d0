// Passive health over real sockets: a target answering 5xx is ejected and comes back once
// its ejection ends; with the panic threshold, a fleet that is all ejected still serves.
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { describe, it } from "node:test";
import { request } from "undici";
import { startSimpleGateway } from "../helpers/gateway.ts";
import { startUpstream } from "../helpers/upstream.ts";

const noRetries = { attempts: 0 };

describe("outlier detection", () => {
  it("ejects a target that keeps failing and takes it back after the ejection", async () => {
    let broken = true;
    const flaky = await startUpstream((_req, res) => {
      if (broken) res.writeHead(500).end("flaky");
      else res.end("flaky");
    });
    const good = await startUpstream((_req, res) => res.end("good"));
    const gw = await startSimpleGateway(
      [flaky.url, good.url],
      {},
      {},
      {
        retries: noRetries,
        healthCheck: { passive: { consecutiveFailures: 3, baseEjection: "300ms" } },
      },
    );
    const ejections: unknown[] = [];
    const onEjection = (message: unknown) => ejections.push(message);
    subscribe("gatehouse:upstream:ejection", onEjection);
    try {
      for (let i = 0; i < 6; i++) await (await request(`${gw.url}/x`)).body.dump();
      assert.equal(flaky.requests.length, 3);
      assert.deepEqual(ejections, [
        { service: "svc", target: flaky.url, ejections: 1, durationMs: 300 },
      ]);
      for (let i = 0; i < 6; i++)
        assert.equal(await (await request(`${gw.url}/x`)).body.text(), "good");
      assert.equal(flaky.requests.length, 3, "ejected: no traffic");
      broken = false;
      await new Promise((resolve) => setTimeout(resolve, 350));
      const bodies = [];
      for (let i = 0; i < 4; i++) bodies.push(await (await request(`${gw.url}/x`)).body.text());
      assert.deepEqual(bodies.sort(), ["flaky", "flaky", "good", "good"], "back in rotation");
    } finally {
      unsubscribe("gatehouse:upstream:ejection", onEjection);
      await gw.stop();
      await flaky.close();
      await good.close();
    }
  });

  for (const panicThreshold of [0, 50]) {
    it(`with every target ejected, ${panicThreshold ? "panic mode still serves" : "answers 503"}`, async () => {
      const a = await startUpstream((_req, res) => res.writeHead(500).end("a"));
      const b = await startUpstream((_req, res) => res.writeHead(500).end("b"));
      const gw = await startSimpleGateway(
        [a.url, b.url],
        {},
        {},
        {
          retries: noRetries,
          healthCheck: {
            panicThreshold,
            passive: { consecutiveFailures: 1, baseEjection: "1m", maxEjectionPercent: 100 },
          },
        },
      );
      try {
        for (let i = 0; i < 2; i++) await (await request(`${gw.url}/x`)).body.dump();
        const res = await request(`${gw.url}/x`);
        const body = await res.body.text();
        if (panicThreshold) {
          assert.equal(res.statusCode, 500, "balanced over all targets despite ejection");
          assert.equal(a.requests.length + b.requests.length, 3);
        } else {
          assert.equal(res.statusCode, 503);
          assert.equal(JSON.parse(body).error.code, "GATEHOUSE_NO_AVAILABLE_TARGET");
        }
      } finally {
        await gw.stop();
        await a.close();
        await b.close();
      }
    });
  }
});
