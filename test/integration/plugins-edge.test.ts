// The edge-security plugins over real sockets: request-size-limit, ip-restriction and cors,
// each configured the way a user would and judged by what a client sees.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { ConfigError } from "../../src/config/load.ts";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";
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

describe("cors", () => {
  let up: Upstream;
  let gw: RunningGateway;

  const cors = (config: Record<string, unknown>) => [{ name: "cors", config }];

  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === "/varied/accept") res.setHeader("vary", "Accept-Encoding");
      if (req.url === "/varied/origin") res.setHeader("vary", "accept, origin");
      if (req.url === "/varied/own-cors") res.setHeader("access-control-allow-origin", "*");
      echo(req, res);
    });
    gw = await startGateway(
      edgeConfig(up, [
        {
          name: "exact",
          match: { paths: ["/exact"] },
          plugins: cors({
            origins: ["https://app.example.org"],
            exposeHeaders: ["X-Total-Count"],
            maxAge: "10m",
          }),
        },
        {
          name: "wildcard",
          match: { paths: ["/wildcard"] },
          plugins: cors({ origins: ["https://*.example.com"] }),
        },
        {
          name: "regex",
          match: { paths: ["/regex"] },
          plugins: cors({ origins: [{ regex: "https://pr-[0-9]+\\.preview\\.dev" }] }),
        },
        {
          name: "any",
          match: { paths: ["/any"] },
          plugins: cors({ origins: ["*"], allowHeaders: ["Content-Type", "X-Api-Key"] }),
        },
        {
          name: "credentials",
          match: { paths: ["/credentials"] },
          plugins: cors({ origins: ["*"], credentials: true, methods: ["GET", "POST"] }),
        },
        {
          name: "varied",
          match: { paths: ["/varied/*"] },
          plugins: cors({ origins: ["https://app.example.org"] }),
        },
        {
          name: "get-only",
          match: { paths: ["/get-only"], methods: ["GET", "PUT"] },
          plugins: cors({ origins: ["https://app.example.org"] }),
        },
        {
          name: "get-only-no-cors",
          match: { paths: ["/get-only-plain"], methods: ["GET", "PUT"] },
          plugins: [{ name: "security-headers" }],
        },
        {
          name: "guarded",
          match: { paths: ["/guarded"] },
          plugins: [
            ...cors({ origins: ["https://app.example.org"] }),
            { name: "ip-restriction", config: { deny: ["127.0.0.1/32"] } },
          ],
        },
      ]),
    );
  });
  after(async () => {
    await gw.stop();
    await up.close();
  });

  async function get(path: string, origin?: string) {
    const res = await request(`${gw.url}${path}`, { headers: origin ? { origin } : {} });
    await res.body.dump();
    return res;
  }

  async function preflight(path: string, origin: string, requestHeaders?: string) {
    const headers: Record<string, string> = { origin, "access-control-request-method": "PUT" };
    if (requestHeaders) headers["access-control-request-headers"] = requestHeaders;
    const res = await request(`${gw.url}${path}`, { method: "OPTIONS", headers });
    const body = await res.body.text();
    return { res, body };
  }

  it("allows an exact origin on actual requests, with exposed headers", async () => {
    const res = await get("/exact", "https://app.example.org");
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["access-control-allow-origin"], "https://app.example.org");
    assert.equal(res.headers["access-control-expose-headers"], "X-Total-Count");
    assert.equal(res.headers["access-control-allow-credentials"], undefined);
    assert.equal(res.headers.vary, "Origin");
    const other = await get("/exact", "https://app.example.org.evil.com");
    assert.equal(other.statusCode, 200, "the gateway does not block; the browser does");
    assert.equal(other.headers["access-control-allow-origin"], undefined);
    assert.equal(other.headers.vary, "Origin");
  });

  it("answers an allowed preflight itself with 204 and never forwards it", async () => {
    const before = up.requests.length;
    const { res, body } = await preflight("/exact", "https://app.example.org", "content-type, x-b");
    assert.equal(res.statusCode, 204);
    assert.equal(body, "");
    assert.equal(res.headers["content-type"], undefined, "an empty answer has no content type");
    assert.equal(res.headers["access-control-allow-origin"], "https://app.example.org");
    assert.equal(
      res.headers["access-control-allow-methods"],
      "GET, HEAD, PUT, PATCH, POST, DELETE",
    );
    assert.equal(res.headers["access-control-allow-headers"], "content-type, x-b", "reflected");
    assert.equal(res.headers["access-control-max-age"], "600");
    assert.match(String(res.headers.vary), /Origin/);
    assert.equal(up.requests.length, before, "the upstream never saw a preflight");
  });

  it("refuses a disallowed origin's preflight with 403 and no CORS headers", async () => {
    const before = up.requests.length;
    const { res, body } = await preflight("/exact", "https://evil.example");
    assert.equal(res.statusCode, 403);
    assert.equal((JSON.parse(body) as ErrorJson).error.code, "GATEHOUSE_CORS_REJECTED");
    assert.equal(res.headers["access-control-allow-origin"], undefined);
    assert.equal(res.headers.vary, "Origin");
    assert.equal(up.requests.length, before);
  });

  it("forwards a plain OPTIONS request (no Access-Control-Request-Method)", async () => {
    const before = up.requests.length;
    const res = await request(`${gw.url}/exact`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example.org" },
    });
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    assert.equal(up.requests.length, before + 1);
  });

  it("allows wildcard subdomains and nothing that merely contains the domain", async () => {
    for (const origin of ["https://a.example.com", "https://a.b.example.com"]) {
      const res = await get("/wildcard", origin);
      assert.equal(res.headers["access-control-allow-origin"], origin, origin);
      assert.equal((await preflight("/wildcard", origin)).res.statusCode, 204, origin);
    }
    for (const origin of [
      "https://example.com",
      "https://example.com.evil.com",
      "https://evilexample.com",
      "http://a.example.com",
      "https://a.example.com:8443",
    ]) {
      const res = await get("/wildcard", origin);
      assert.equal(res.headers["access-control-allow-origin"], undefined, origin);
      assert.equal((await preflight("/wildcard", origin)).res.statusCode, 403, origin);
    }
  });

  it("matches a regex against the whole origin", async () => {
    const ok = await get("/regex", "https://pr-42.preview.dev");
    assert.equal(ok.headers["access-control-allow-origin"], "https://pr-42.preview.dev");
    for (const origin of ["https://pr-42.preview.dev.evil.com", "https://x.pr-42.preview.dev"]) {
      const res = await get("/regex", origin);
      assert.equal(res.headers["access-control-allow-origin"], undefined, origin);
    }
  });

  it("answers * to any origin without credentials, with the configured headers", async () => {
    const res = await get("/any", "https://whoever.test");
    assert.equal(res.headers["access-control-allow-origin"], "*");
    assert.equal(res.headers["access-control-allow-credentials"], undefined);
    const { res: pre } = await preflight("/any", "https://whoever.test", "x-other");
    assert.equal(pre.statusCode, 204);
    assert.equal(pre.headers["access-control-allow-origin"], "*");
    assert.equal(pre.headers["access-control-allow-headers"], "Content-Type, X-Api-Key");
  });

  it("with credentials never answers *: it reflects the origin", async () => {
    const res = await get("/credentials", "https://whoever.test");
    assert.equal(res.headers["access-control-allow-origin"], "https://whoever.test");
    assert.equal(res.headers["access-control-allow-credentials"], "true");
    assert.equal(res.headers.vary, "Origin");
    const { res: pre } = await preflight("/credentials", "https://other.test");
    assert.equal(pre.statusCode, 204);
    assert.equal(pre.headers["access-control-allow-origin"], "https://other.test");
    assert.equal(pre.headers["access-control-allow-credentials"], "true");
    assert.equal(pre.headers["access-control-allow-methods"], "GET, POST");
  });

  it("always adds Vary: Origin, appending to the upstream's Vary without duplicating", async () => {
    assert.equal((await get("/varied/plain")).headers.vary, "Origin", "even without Origin");
    assert.equal(
      (await get("/varied/accept", "https://app.example.org")).headers.vary,
      "Accept-Encoding, Origin",
    );
    assert.equal((await get("/varied/origin")).headers.vary, "accept, origin");
  });

  it("replaces an upstream's own Access-Control-Allow-Origin for an allowed origin", async () => {
    const res = await get("/varied/own-cors", "https://app.example.org");
    assert.equal(res.headers["access-control-allow-origin"], "https://app.example.org");
  });

  it("answers a preflight on a route whose methods leave out OPTIONS, if its cors plugin allows", async () => {
    const before = up.requests.length;
    const { res } = await preflight("/get-only", "https://app.example.org");
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers["access-control-allow-origin"], "https://app.example.org");
    const plain = await preflight("/get-only-plain", "https://app.example.org");
    assert.equal(plain.res.statusCode, 405, "no plugin answered: the route does not take OPTIONS");
    assert.equal(up.requests.length, before, "neither preflight was forwarded");
  });

  it("puts CORS headers on another plugin's answer, so the page sees the real status", async () => {
    const res = await get("/guarded", "https://app.example.org");
    assert.equal(res.statusCode, 403);
    assert.equal(res.headers["access-control-allow-origin"], "https://app.example.org");
  });

  it("rejects origins that are not origins, and bad regexes, at load", () => {
    for (const origins of [
      [],
      ["app.example.org"],
      ["https://a.example.org/path"],
      [{ regex: "(" }],
    ]) {
      const text = JSON.stringify(
        edgeConfig(up, [{ name: "bad", match: { paths: ["/bad"] }, plugins: cors({ origins }) }]),
      );
      assert.throws(
        () => parseGatewayConfig(text, "edge.yaml", {}),
        ConfigError,
        JSON.stringify(origins),
      );
    }
  });
});
