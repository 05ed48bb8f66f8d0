// Circuit breaking over real sockets: a failing target stops getting traffic once its
// breaker opens, gets one probe when it half-opens, and stays out while it keeps failing.
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { describe, it } from "node:test";
import { request } from "undici";
import { startSimpleGateway } from "../helpers/gateway.ts";
import { startUpstream } from "../helpers/upstream.ts";

describe("circuit breaker", () => {
  it("opens on the failure ratio, sends traffic elsewhere, and half-opens on time", async () => {
    const bad = await startUpstream((_req, res) => {
      res.writeHead(500).end("bad");
    });
    const good = await startUpstream((_req, res) => res.end("good"));
    const gw = await startSimpleGateway(
      [bad.url, good.url],
      {},
      {},
      {
        circuitBreaker: {
          window: "10s",
          minRequests: 4,
          failureRatio: 0.5,
          openDuration: "300ms",
          halfOpenRequests: 1,
        },
      },
    );
    const breakerOf = async () => {
      const view = (await (await request(`${gw.statusUrl}/upstreams`)).body.json()) as {
        services: { targets: { url: string; breaker: string }[] }[];
      };
      return view.services[0]!.targets.find((t) => t.url === bad.url)!.breaker;
    };
    const events: unknown[] = [];
    const onEvent = (message: unknown) => events.push(message);
    subscribe("gatehouse:upstream:breaker", onEvent);
    try {
      for (let i = 0; i < 8; i++) await (await request(`${gw.url}/x`)).body.dump();
      assert.equal(
        bad.requests.length,
        4,
        "round-robin sent every other request to the bad target",
      );
      assert.equal(await breakerOf(), "open");
      assert.deepEqual(events, [
        { service: "svc", target: bad.url, state: "open", openForMs: 300 },
      ]);
      for (let i = 0; i < 6; i++) {
        const res = await request(`${gw.url}/x`);
        assert.equal(await res.body.text(), "good");
      }
      assert.equal(bad.requests.length, 4, "no traffic while open");

      await new Promise((resolve) => setTimeout(resolve, 350));
      assert.equal(await breakerOf(), "half-open");
      for (let i = 0; i < 4; i++) await (await request(`${gw.url}/x`)).body.dump();
      assert.equal(bad.requests.length, 5, "exactly one probe while half-open");
      assert.equal(await breakerOf(), "open", "the failed probe reopened it");
      assert.deepEqual(events.at(-1), {
        service: "svc",
        target: bad.url,
        state: "open",
        openForMs: 600,
      });
    } finally {
      unsubscribe("gatehouse:upstream:breaker", onEvent);
      await gw.stop();
      await bad.close();
      await good.close();
    }
  });
});
