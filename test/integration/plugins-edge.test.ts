// The edge-security plugins over real sockets: request-size-limit, ip-restriction and cors,
// each configured the way a user would and judged by what a client sees.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { ConfigError } from "../../src/config/load.ts";
import { parseGatewayConfig } from "../../src/config/validate.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

interface ErrorJson {
  error: { code: string };
}

/** A config with one service on `up` and the given routes. */
function edgeConfig(up: Upstream, routes: Record<string, unknown>[], gateway = {}) {
  return testConfig({
    gateway,
    services: [{ name: "svc", targets: [{ url: up.url }] }],
    routes: routes.map((route) => ({ service: "svc", ...route })),
  } as never);
}

describe("request-size-limit", () => {
  let up: Upstream;
  let gw: RunningGateway;

  before(async () => {
    up = await startUpstream(echo);
    gw = await startGateway(
      edgeConfig(up, [
        {
          name: "small",
          match: { paths: ["/small"] },
          plugins: [{ name: "request-size-limit", config: { maxBodySize: 100 } }],
        },
        {
          name: "kb",
          match: { paths: ["/kb"] },
          plugins: [{ name: "request-size-limit", config: { maxBodySize: "1kb" } }],
        },
      ]),
    );
  });
  after(async () => {
    await gw.stop();
    await up.close();
  });

  it("refuses a Content-Length over the limit with 413 before it reaches the upstream", async () => {
    const before = up.requests.length;
    const res = await request(`${gw.url}/small`, { method: "POST", body: "x".repeat(101) });
    assert.equal(res.statusCode, 413);
    assert.equal(((await res.body.json()) as ErrorJson).error.code, "GATEHOUSE_BODY_TOO_LARGE");
    assert.equal(up.requests.length, before, "the upstream never saw it");
  });

  it("forwards a body at or under the limit, and requests without a body", async () => {
    const res = await request(`${gw.url}/small`, { method: "POST", body: "x".repeat(100) });
    assert.equal(res.statusCode, 200);
    assert.equal(((await res.body.json()) as { bodySize: number }).bodySize, 100);
    const get = await request(`${gw.url}/small`);
    assert.equal(get.statusCode, 200);
    await get.body.dump();
  });

  it("reads sizes with units", async () => {
    const ok = await request(`${gw.url}/kb`, { method: "POST", body: "x".repeat(1024) });
    assert.equal(ok.statusCode, 200);
    await ok.body.dump();
    const big = await request(`${gw.url}/kb`, { method: "POST", body: "x".repeat(1025) });
    assert.equal(big.statusCode, 413);
    await big.body.dump();
  });

  it("rejects a limit that is not a size at load", () => {
    for (const maxBodySize of ["lots", 0, -5]) {
      const config = edgeConfig(up, [
        {
          name: "bad",
          match: { paths: ["/bad"] },
          plugins: [{ name: "request-size-limit", config: { maxBodySize } }],
        },
      ]);
      assert.throws(
        () => parseGatewayConfig(JSON.stringify(config), "edge.yaml", {}),
        ConfigError,
        String(maxBodySize),
      );
    }
  });
});
