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

describe("ip-restriction", () => {
  let up: Upstream;
  let direct: RunningGateway;
  let behindProxy: RunningGateway;

  const routes = [
    {
      name: "ten-only",
      match: { paths: ["/ten-only"] },
      plugins: [{ name: "ip-restriction", config: { allow: ["10.0.0.0/8"], deny: ["127.0.0.1"] } }],
    },
    {
      name: "loopback",
      match: { paths: ["/loopback"] },
      plugins: [{ name: "ip-restriction", config: { allow: ["127.0.0.0/8", "::1/128"] } }],
    },
    {
      name: "deny-wins",
      match: { paths: ["/deny-wins"] },
      plugins: [
        {
          name: "ip-restriction",
          config: { allow: ["127.0.0.0/8", "10.0.0.0/8"], deny: ["127.0.0.1/32", "10.9.0.0/16"] },
        },
      ],
    },
    {
      name: "v6",
      match: { paths: ["/v6"] },
      plugins: [
        {
          name: "ip-restriction",
          config: { allow: ["2001:db8::/32"], deny: ["2001:db8:bad::/48"] },
        },
      ],
    },
    {
      name: "deny-only",
      match: { paths: ["/deny-only"] },
      plugins: [{ name: "ip-restriction", config: { deny: ["192.168.0.0/16"] } }],
    },
  ];

  before(async () => {
    up = await startUpstream(echo);
    direct = await startGateway(edgeConfig(up, routes));
    behindProxy = await startGateway(edgeConfig(up, routes, { trustedProxies: ["127.0.0.1/32"] }));
  });
  after(async () => {
    await direct.stop();
    await behindProxy.stop();
    await up.close();
  });

  async function status(gw: RunningGateway, path: string, forwardedFor?: string) {
    const headers = forwardedFor ? { "x-forwarded-for": forwardedFor } : {};
    const res = await request(`${gw.url}${path}`, { headers });
    const body = await res.body.text();
    if (res.statusCode === 403) {
      assert.equal((JSON.parse(body) as ErrorJson).error.code, "GATEHOUSE_IP_FORBIDDEN");
    }
    return res.statusCode;
  }

  it("cannot be bypassed with X-Forwarded-For from an untrusted peer", async () => {
    const before = up.requests.length;
    assert.equal(await status(direct, "/ten-only", "10.0.0.1"), 403);
    assert.equal(await status(direct, "/ten-only", "10.0.0.1, 10.0.0.2"), 403);
    assert.equal(await status(direct, "/ten-only"), 403);
    assert.equal(up.requests.length, before, "no refused request reached the upstream");
  });

  it("uses the forwarded address when the peer is a trusted proxy", async () => {
    assert.equal(await status(behindProxy, "/ten-only", "10.0.0.1"), 200);
    assert.equal(await status(behindProxy, "/ten-only", "192.168.1.1"), 403);
    assert.equal(await status(behindProxy, "/ten-only"), 403, "no header: the proxy itself");
    // Only the hops appended by trusted proxies count: a client-written left part is ignored.
    assert.equal(await status(behindProxy, "/ten-only", "10.0.0.1, 192.168.1.1"), 403);
  });

  it("allows only the allow list", async () => {
    assert.equal(await status(direct, "/loopback"), 200);
    assert.equal(await status(behindProxy, "/loopback", "::1"), 200);
    assert.equal(await status(behindProxy, "/loopback", "10.0.0.1"), 403);
  });

  it("lets deny win over allow", async () => {
    assert.equal(await status(direct, "/deny-wins"), 403);
    assert.equal(await status(behindProxy, "/deny-wins", "127.0.0.2"), 200);
    assert.equal(await status(behindProxy, "/deny-wins", "10.1.2.3"), 200);
    assert.equal(await status(behindProxy, "/deny-wins", "10.9.2.3"), 403);
  });

  it("matches IPv6 ranges, and never matches IPv4 against them", async () => {
    assert.equal(await status(behindProxy, "/v6", "2001:db8::5"), 200);
    assert.equal(await status(behindProxy, "/v6", "2001:db8:bad::5"), 403);
    assert.equal(await status(behindProxy, "/v6", "2001:db9::5"), 403);
    assert.equal(await status(direct, "/v6"), 403);
  });

  it("with only a deny list, lets every other address through", async () => {
    assert.equal(await status(direct, "/deny-only"), 200);
    assert.equal(await status(behindProxy, "/deny-only", "192.168.4.4"), 403);
    assert.equal(await status(behindProxy, "/deny-only", "::ffff:192.168.4.4"), 403);
  });

  it("rejects a config with neither list, or a bad range, at load", () => {
    for (const config of [{}, { allow: [] }, { deny: ["10.0.0.0/33"] }, { allow: ["loopback"] }]) {
      const text = JSON.stringify(
        edgeConfig(up, [
          {
            name: "bad",
            match: { paths: ["/bad"] },
            plugins: [{ name: "ip-restriction", config }],
          },
        ]),
      );
      assert.throws(
        () => parseGatewayConfig(text, "edge.yaml", {}),
        ConfigError,
        JSON.stringify(config),
      );
    }
  });
});
