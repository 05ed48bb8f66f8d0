// A route's split over real sockets: the weighted share over 10,000 requests, rule entries,
// stickiness by cookie and by consumer, and the config errors of a bad split.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Agent, request } from "undici";
import { configProblems } from "../helpers/config-problems.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

describe("traffic split", () => {
  let stable: Upstream;
  let canary: Upstream;
  let beta: Upstream;
  let gateway: RunningGateway;
  const agent = new Agent({ connections: 16, keepAliveTimeout: 10_000 });

  before(async () => {
    stable = await startUpstream((_req, res) => res.end("stable"));
    canary = await startUpstream((_req, res) => res.end("canary"));
    beta = await startUpstream((_req, res) => res.end("beta"));
    const services = [
      { name: "checkout", targets: [{ url: stable.url }] },
      { name: "checkout-v2", targets: [{ url: canary.url }] },
      { name: "checkout-beta", targets: [{ url: beta.url }] },
      // One target refuses connections: the service's own retries find the other.
      {
        name: "checkout-pair",
        targets: [{ url: "http://127.0.0.1:1" }, { url: canary.url }],
        loadBalancer: { algorithm: "round-robin" as const },
      },
    ];
    const split = [
      { service: "checkout-v2", weight: 10 },
      { service: "checkout-beta", match: { headers: { "x-beta": "1" } } },
      { service: "checkout-beta", match: { cookies: { channel: { regex: "^beta" } } } },
    ];
    gateway = await startGateway(
      testConfig({
        services,
        consumers: [
          { name: "alice", credentials: { keys: ["alice-key-123"] } },
          { name: "bob", credentials: { keys: ["bob-key-4567"] } },
        ],
        routes: [
          { name: "checkout", match: { paths: ["/checkout/*"] }, service: "checkout", split },
          {
            name: "cart",
            match: { paths: ["/cart/*"] },
            service: "checkout",
            split,
            sticky: "cookie",
          },
          {
            name: "pay",
            match: { paths: ["/pay/*"] },
            service: "checkout",
            split: [{ service: "checkout-pair", weight: 100 }],
          },
          {
            name: "orders",
            match: { paths: ["/orders/*"] },
            service: "checkout",
            split: [{ service: "checkout-v2", weight: 50 }],
            sticky: "consumer",
            plugins: [{ name: "key-auth" }],
          },
        ],
      }),
    );
  });
  after(async () => {
    await agent.close();
    await gateway.stop();
    await Promise.all([stable.close(), canary.close(), beta.close()]);
  });

  async function get(path: string, headers: Record<string, string> = {}) {
    const answer = await request(`${gateway.url}${path}`, { headers, dispatcher: agent });
    return { text: await answer.body.text(), setCookie: answer.headers["set-cookie"] };
  }

  it("sends the weighted share of 10,000 requests to the canary, within 2 points", async () => {
    const counts = new Map<string, number>();
    let next = 0;
    const total = 10_000;
    // 32 requests in flight at once over keep-alive connections.
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < total) {
          next++;
          const { text } = await get("/checkout/pay");
          counts.set(text, (counts.get(text) ?? 0) + 1);
        }
      }),
    );
    const share = ((counts.get("canary") ?? 0) / total) * 100;
    assert.ok(Math.abs(share - 10) <= 2, `canary share ${share}%`);
    assert.equal((counts.get("canary") ?? 0) + (counts.get("stable") ?? 0), total);
  });

  it("checks rule entries first: a header or a cookie that matches goes to its service", async () => {
    for (let i = 0; i < 20; i++)
      assert.equal((await get("/checkout/pay", { "x-beta": "1" })).text, "beta");
    assert.equal((await get("/checkout/pay", { cookie: "a=b; channel=beta-2" })).text, "beta");
  });

  it("keeps a browser on one choice with a cookie recording its bucket", async () => {
    const first = await get("/cart/items");
    const setCookie = String(first.setCookie);
    assert.match(
      setCookie,
      /^gatehouse_split_cart=\d{1,4}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/,
    );
    const cookie = setCookie.split(";")[0]!;
    for (let i = 0; i < 30; i++) {
      const again = await get("/cart/items", { cookie });
      assert.equal(again.text, first.text);
      assert.equal(again.setCookie, undefined);
    }
    // The bucket decides: the first 10% of buckets are the canary's.
    assert.equal((await get("/cart/items", { cookie: "gatehouse_split_cart=42" })).text, "canary");
    assert.equal(
      (await get("/cart/items", { cookie: "gatehouse_split_cart=9999" })).text,
      "stable",
    );
  });

  it("keeps a consumer on one choice by a hash of its name, the same every time", async () => {
    const seen = new Map<string, Set<string>>();
    for (const key of ["alice-key-123", "bob-key-4567"]) {
      const answers = new Set<string>();
      for (let i = 0; i < 20; i++) answers.add((await get("/orders/1", { "x-api-key": key })).text);
      seen.set(key, answers);
    }
    assert.equal(seen.get("alice-key-123")!.size, 1);
    assert.equal(seen.get("bob-key-4567")!.size, 1);
  });

  it("leaves the chosen service's own retries to get past its dead target", async () => {
    for (let i = 0; i < 10; i++) assert.equal((await get("/pay/now")).text, "canary");
  });

  it("refuses unknown services and weights past 100, at their place in the file", () => {
    const text = `gateway:
  listen: [{ port: 8080 }]
services:
  - { name: checkout, targets: [{ url: "http://127.0.0.1:9001" }] }
routes:
  - name: checkout
    match: { paths: ["/checkout/*"] }
    service: checkout
    split:
      - { service: checkout-v2, weight: 60 }
      - { service: checkout, weight: 50 }
    mirror: { service: shadow }
`;
    assert.deepEqual(configProblems(text), [
      "gw.yaml:10:7 routes[0].split: the split's weights add up to 110, past 100 (percent of requests)",
      'gw.yaml:10:20 routes[0].split[0].service: unknown service "checkout-v2" (did you mean "checkout"?)',
      'gw.yaml:12:24 routes[0].mirror.service: unknown service "shadow"',
    ]);
  });
});
