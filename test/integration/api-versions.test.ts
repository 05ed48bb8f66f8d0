// API versions over real sockets: each way a request can name its version (header, Accept,
// path, query), the default, an unknown version's 404, and a deprecated route's headers.
import assert from "node:assert/strict";
import { connect } from "node:http2";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { configProblems } from "../helpers/config-problems.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { h2Request } from "../helpers/h2-client.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

type Versioning = Record<string, string>;

describe("API versions", () => {
  let v1: Upstream;
  let v2: Upstream;
  const gateways: RunningGateway[] = [];
  before(async () => {
    v1 = await startUpstream((req, res) => res.end(`v1 ${req.url}`));
    v2 = await startUpstream((req, res) => res.end(`v2 ${req.url}`));
  });
  after(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await Promise.all([v1.close(), v2.close()]);
  });

  /** A gateway with `/orders/*` in versions 1 and 2 (2 deprecated) and an unversioned `/health`. */
  async function start(versioning: Versioning, http2 = false): Promise<RunningGateway> {
    const gateway = await startGateway(
      testConfig({
        gateway: { versioning, listen: [{ host: "127.0.0.1", port: 0, http2 }] },
        services: [
          { name: "orders-v1", targets: [{ url: v1.url }] },
          { name: "orders-v2", targets: [{ url: v2.url }] },
        ],
        routes: [
          { name: "orders-1", match: { paths: ["/orders/*"], version: "1" }, service: "orders-v1" },
          {
            name: "orders-2",
            match: { paths: ["/orders/*"], version: ["2"] },
            service: "orders-v2",
            deprecated: {
              sunset: "2027-06-30",
              since: "2026-01-31",
              link: "https://docs.example/v2",
            },
          },
          { name: "health", match: { paths: ["/health"] }, service: "orders-v1" },
        ],
      }),
    );
    gateways.push(gateway);
    return gateway;
  }

  async function get(gateway: RunningGateway, path: string, headers: Record<string, string> = {}) {
    const answer = await request(`${gateway.url}${path}`, { headers });
    return { status: answer.statusCode, headers: answer.headers, text: await answer.body.text() };
  }

  it("reads the version from a header, with the default for requests without one", async () => {
    const gateway = await start({ header: "Api-Version", default: "1" });
    assert.equal((await get(gateway, "/orders/7", { "api-version": "2" })).text, "v2 /orders/7");
    assert.equal((await get(gateway, "/orders/7", { "api-version": "1" })).text, "v1 /orders/7");
    assert.equal((await get(gateway, "/orders/7")).text, "v1 /orders/7");
    assert.equal((await get(gateway, "/health", { "api-version": "9" })).status, 200);
  });

  it("answers 404 naming the versions served for a version no route has", async () => {
    const gateway = await start({ header: "Api-Version" });
    const answer = await get(gateway, "/orders/7", { "api-version": "3" });
    assert.equal(answer.status, 404);
    const { error } = JSON.parse(answer.text);
    assert.equal(error.code, "GATEHOUSE_VERSION_NOT_FOUND");
    assert.equal(error.message, "API version 3 is not served here; served versions: 1, 2");
    const none = JSON.parse((await get(gateway, "/orders/7")).text).error;
    assert.equal(none.message, "The request names no API version; served versions: 1, 2");
    assert.equal(
      JSON.parse((await get(gateway, "/nothing")).text).error.code,
      "GATEHOUSE_ROUTE_NOT_FOUND",
    );
  });

  it("reads the version from a media type in Accept", async () => {
    const gateway = await start({ accept: "application/vnd.shop.v{version}+json", default: "1" });
    const accept = "text/html, application/vnd.shop.v2+json; q=0.9";
    assert.equal((await get(gateway, "/orders/7", { accept })).text, "v2 /orders/7");
    assert.equal(
      (await get(gateway, "/orders/7", { accept: "application/json" })).text,
      "v1 /orders/7",
    );
  });

  it("reads the version from a leading path segment, removed before forwarding", async () => {
    const gateway = await start({ path: "/v{version}", default: "1" });
    assert.equal((await get(gateway, "/v2/orders/7?x=1")).text, "v2 /orders/7?x=1");
    assert.equal((await get(gateway, "/v1/orders/7")).text, "v1 /orders/7");
    assert.equal((await get(gateway, "/orders/7")).text, "v1 /orders/7");
    assert.equal((await get(gateway, "/v3/orders/7")).status, 404);
  });

  it("reads the version from a query argument", async () => {
    const gateway = await start({ query: "version", default: "1" });
    assert.equal((await get(gateway, "/orders/7?version=2")).text, "v2 /orders/7?version=2");
    assert.equal((await get(gateway, "/orders/7?other=2")).text, "v1 /orders/7?other=2");
  });

  it("marks a deprecated route's responses with Deprecation, Sunset and Link", async () => {
    const gateway = await start({ header: "Api-Version", default: "1" });
    const old = await get(gateway, "/orders/7", { "api-version": "2" });
    assert.equal(old.headers.deprecation, `@${Date.UTC(2026, 0, 31) / 1000}`);
    assert.equal(old.headers.sunset, "Wed, 30 Jun 2027 00:00:00 GMT");
    assert.equal(
      old.headers.link,
      '<https://docs.example/v2>; rel="deprecation"; type="text/html"',
    );
    const current = await get(gateway, "/orders/7", { "api-version": "1" });
    assert.equal(current.headers.deprecation, undefined);
    assert.equal(current.headers.sunset, undefined);
  });

  it("does the same over HTTP/2 (h2c)", async () => {
    const gateway = await start({ header: "Api-Version", default: "1" }, true);
    const session = connect(gateway.url);
    try {
      const old = await h2Request(session, { ":path": "/orders/7", "api-version": "2" });
      assert.equal(old.body, "v2 /orders/7");
      assert.equal(old.headers.sunset, "Wed, 30 Jun 2027 00:00:00 GMT");
      const unknown = await h2Request(session, { ":path": "/orders/7", "api-version": "5" });
      assert.equal(unknown.status, 404);
      assert.equal(JSON.parse(unknown.body).error.code, "GATEHOUSE_VERSION_NOT_FOUND");
    } finally {
      session.close();
    }
  });

  it("refuses route versions without gateway.versioning, and two places at once", () => {
    const routes = `services:
  - { name: orders, targets: [{ url: "http://127.0.0.1:9001" }] }
routes:
  - { name: orders, match: { paths: ["/orders"], version: "2" }, service: orders }
`;
    assert.deepEqual(configProblems(`gateway:\n  listen: [{ port: 8080 }]\n${routes}`), [
      "gw.yaml:6:59 routes[0].match.version: a route version needs to know where requests name theirs: set gateway.versioning (header, accept, path or query)",
    ]);
    const twice = `gateway:
  listen: [{ port: 8080 }]
  versioning: { header: Api-Version, query: version }
${routes}`;
    assert.deepEqual(configProblems(twice), [
      "gw.yaml:3:45 gateway.versioning.query: set one of header, accept, path or query, not header and query",
    ]);
  });
});
