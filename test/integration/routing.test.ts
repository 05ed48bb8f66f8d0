// Routing over real sockets: hosts, paths, methods, matchers, priority, rewrites.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

describe("routing", () => {
  let a: Upstream;
  let b: Upstream;
  let gw: RunningGateway;

  before(async () => {
    a = await startUpstream((req, res) => res.end(`a ${req.url}`));
    b = await startUpstream((req, res) => res.end(`b ${req.url}`));
    gw = await startGateway(
      testConfig({
        services: [
          { name: "a", targets: [{ url: a.url }] },
          { name: "b", targets: [{ url: b.url }] },
        ],
        routes: [
          {
            name: "users",
            match: { paths: ["/api/users", "/api/users/*"], methods: ["GET", "POST"] },
            service: "a",
            stripPrefix: "/api",
          },
          {
            name: "user-v2",
            match: { paths: ["/v2/users/:id"] },
            service: "b",
            rewrite: "/users/:id/profile",
          },
          { name: "api-fallback", match: { paths: ["/api/*"] }, service: "b" },
          {
            name: "host-exact",
            match: { hosts: ["shop.example.com"], paths: ["/*"] },
            service: "a",
          },
          { name: "host-wild", match: { hosts: ["*.example.com"], paths: ["/*"] }, service: "b" },
          {
            name: "beta",
            match: { paths: ["/feature"], headers: { "x-beta": "1" } },
            service: "b",
          },
          { name: "feature", match: { paths: ["/feature"] }, service: "a" },
          { name: "q", match: { paths: ["/search"], query: { v: { regex: "^2" } } }, service: "b" },
          { name: "search", match: { paths: ["/search"] }, service: "a" },
          { name: "wins", match: { paths: ["/p/*"] }, service: "b", priority: 10 },
          { name: "loses", match: { paths: ["/p/exact"] }, service: "a" },
        ],
      }),
    );
  });
  after(async () => {
    await gw.stop();
    await a.close();
    await b.close();
  });

  const get = async (
    path: string,
    init: { method?: "GET" | "DELETE"; headers?: Record<string, string> } = {},
  ) => {
    const res = await request(`${gw.url}${path}`, init);
    return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
  };

  it("strips a prefix and keeps the query", async () => {
    assert.deepEqual(await get("/api/users/7?x=1").then((r) => r.text), "a /users/7?x=1");
    assert.deepEqual(await get("/api/users").then((r) => r.text), "a /users");
  });

  it("rewrites with route parameters", async () => {
    assert.equal((await get("/v2/users/42")).text, "b /users/42/profile");
  });

  it("falls back to a less specific route when the method does not match", async () => {
    assert.equal((await get("/api/users/1", { method: "DELETE" })).text, "b /api/users/1");
  });

  it("answers 404 as JSON with a request id", async () => {
    const res = await get("/nothing");
    assert.equal(res.status, 404);
    const body = JSON.parse(res.text);
    assert.equal(body.error.code, "GATEHOUSE_ROUTE_NOT_FOUND");
    assert.equal(body.error.requestId, res.headers["x-request-id"]);
  });

  it("routes by exact host before wildcard host before any host", async () => {
    assert.equal((await get("/x", { headers: { host: "shop.example.com" } })).text, "a /x");
    assert.equal((await get("/x", { headers: { host: "Blog.Example.com:8080" } })).text, "b /x");
    assert.equal((await get("/x", { headers: { host: "example.com" } })).status, 404);
  });

  it("matches headers and query arguments", async () => {
    assert.equal((await get("/feature", { headers: { "x-beta": "1" } })).text, "b /feature");
    assert.equal((await get("/feature")).text, "a /feature");
    assert.equal((await get("/search?v=2.1")).text, "b /search?v=2.1");
    assert.equal((await get("/search?v=1")).text, "a /search?v=1");
  });

  it("lets explicit priority beat specificity", async () => {
    assert.equal((await get("/p/exact")).text, "b /p/exact");
  });
});

describe("method not allowed", () => {
  it("answers 405 with Allow when the path matches but no route takes the method", async () => {
    const up = await startUpstream((_req, res) => res.end("ok"));
    const gw = await startGateway(
      testConfig({
        services: [{ name: "s", targets: [{ url: up.url }] }],
        routes: [
          { name: "r1", match: { paths: ["/items"], methods: ["GET"] }, service: "s" },
          { name: "r2", match: { paths: ["/items"], methods: ["PUT"] }, service: "s" },
        ],
      }),
    );
    try {
      const res = await fetch(`${gw.url}/items`, { method: "DELETE" });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get("allow"), "GET, HEAD, PUT");
      assert.equal(
        ((await res.json()) as { error: { code: string } }).error.code,
        "GATEHOUSE_METHOD_NOT_ALLOWED",
      );
      assert.equal((await fetch(`${gw.url}/items`, { method: "HEAD" })).status, 200);
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});
