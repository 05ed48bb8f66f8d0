// oauth2-introspection over real sockets, against a real introspection endpoint: active
// tokens pass with their consumer and claims, inactive and expired ones are 401s, answers
// are cached (one POST for many requests, never past exp), and an endpoint that is down,
// slow or broken is a 503 within the timeout. Cache expiry runs on an injected clock.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { Introspector } from "../../src/plugins/oauth2-introspection/introspector.ts";
import { configProblems } from "../helpers/config-problems.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import {
  type IntrospectionServer,
  startIntrospectionServer,
} from "../helpers/introspection-server.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

type Seen = { headers: Record<string, string>; error?: { code: string; message: string } };
const hour = () => Math.floor(Date.now() / 1000) + 3600;

describe("oauth2-introspection", () => {
  let up: Upstream;
  let idp: IntrospectionServer;
  let gw: RunningGateway;
  let deadPort: number;

  before(async () => {
    up = await startUpstream(echo);
    idp = await startIntrospectionServer("gatehouse", "s3cret:with/odd chars");
    const dead = await startUpstream();
    deadPort = dead.port;
    await dead.close();
    const introspection = (extra: Record<string, unknown> = {}) => ({
      name: "oauth2-introspection",
      config: {
        introspectionUrl: idp.url,
        clientId: "gatehouse",
        clientSecret: "s3cret:with/odd chars",
        ...extra,
      },
    });
    gw = await startGateway(
      testConfig({
        consumers: [{ name: "alice", groups: ["staff"], credentials: { keys: ["alice-key-123"] } }],
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "api",
            match: { paths: ["/api/*"] },
            service: "svc",
            plugins: [
              introspection({
                consumerClaim: "username",
                claimsToHeaders: { sub: "X-User-Id", scope: "X-Scope" },
              }),
            ],
          },
          {
            name: "nameless",
            match: { paths: ["/nameless/*"] },
            service: "svc",
            plugins: [introspection({ requiredScopes: ["orders:read"] })],
          },
          {
            name: "either",
            match: { paths: ["/either/*"] },
            service: "svc",
            plugins: [introspection({ consumerClaim: "username" }), { name: "key-auth" }],
          },
          {
            name: "down",
            match: { paths: ["/down/*"] },
            service: "svc",
            plugins: [
              introspection({
                introspectionUrl: `http://127.0.0.1:${deadPort}/introspect`,
                timeout: "1s",
              }),
            ],
          },
          {
            name: "slow",
            match: { paths: ["/slow/*"] },
            service: "svc",
            plugins: [introspection({ timeout: "300ms" })],
          },
          {
            name: "badclient",
            match: { paths: ["/badclient/*"] },
            service: "svc",
            plugins: [introspection({ clientSecret: "wrong" })],
          },
        ],
      }),
    );
  });
  after(async () => {
    await gw.stop();
    await idp.close();
    await up.close();
  });

  const call = async (path: string, token?: string, headers: Record<string, string> = {}) => {
    const started = performance.now();
    const res = await request(`${gw.url}${path}`, {
      headers: token === undefined ? headers : { authorization: `Bearer ${token}`, ...headers },
    });
    const body = (await res.body.json()) as Seen;
    return { status: res.statusCode, headers: res.headers, body, ms: performance.now() - started };
  };

  it("lets an active token through: consumer and claims upstream, the token not", async () => {
    idp.tokens.set("tok-alice", {
      answer: {
        active: true,
        username: "alice",
        sub: "u-42",
        scope: "orders:read orders:write",
        exp: hour(),
      },
    });
    const res = await call("/api/x", "tok-alice");
    assert.equal(res.status, 200);
    assert.equal(res.body.headers["x-consumer-name"], "alice");
    assert.equal(res.body.headers["x-consumer-groups"], "staff");
    assert.equal(res.body.headers["x-user-id"], "u-42");
    assert.equal(res.body.headers["x-scope"], "orders:read orders:write");
    assert.equal(res.body.headers.authorization, undefined);
    assert.equal(idp.lastHint, "access_token");
  });

  it("writes claims to headers as jwt does: list items that are objects as JSON, text a header cannot carry left out", async () => {
    idp.tokens.set("tok-odd-claims", {
      answer: {
        active: true,
        username: "alice",
        sub: "用户-42",
        scope: ["orders:read", { resource: "orders" }],
        exp: hour(),
      },
    });
    const res = await call("/api/x", "tok-odd-claims");
    assert.equal(res.status, 200);
    assert.equal(res.body.headers["x-scope"], 'orders:read {"resource":"orders"}');
    assert.equal(res.body.headers["x-user-id"], undefined);
  });

  it("removes a claim header the client sent itself when the token lacks that claim", async () => {
    idp.tokens.set("tok-no-sub", { answer: { active: true, username: "alice", exp: hour() } });
    const res = await call("/api/x", "tok-no-sub", { "x-user-id": "admin", "x-scope": "all" });
    assert.equal(res.status, 200);
    assert.equal(res.body.headers["x-user-id"], undefined);
    assert.equal(res.body.headers["x-scope"], undefined);
  });

  it("refuses an inactive token with 401 GATEHOUSE_INVALID_TOKEN and a Bearer challenge", async () => {
    const res = await call("/api/x", "tok-unknown");
    assert.equal(res.status, 401);
    assert.equal(res.body.error!.code, "GATEHOUSE_INVALID_TOKEN");
    assert.equal(
      res.headers["www-authenticate"],
      'Bearer realm="gatehouse", error="invalid_token"',
    );
    const none = await call("/api/x");
    assert.equal(none.status, 401);
    assert.equal(none.body.error!.code, "GATEHOUSE_UNAUTHORIZED");
    assert.equal(none.headers["www-authenticate"], 'Bearer realm="gatehouse"');
  });

  it("refuses a token whose exp has passed with 401 GATEHOUSE_TOKEN_EXPIRED", async () => {
    idp.tokens.set("tok-old", { answer: { active: true, username: "alice", exp: hour() - 7200 } });
    const res = await call("/api/x", "tok-old");
    assert.equal(res.status, 401);
    assert.equal(res.body.error!.code, "GATEHOUSE_TOKEN_EXPIRED");
  });

  it("refuses a token whose consumerClaim names no consumer with 401 GATEHOUSE_TOKEN_CLAIMS_REJECTED", async () => {
    idp.tokens.set("tok-mallory", { answer: { active: true, username: "mallory", exp: hour() } });
    const res = await call("/api/x", "tok-mallory");
    assert.equal(res.status, 401);
    assert.equal(res.body.error!.code, "GATEHOUSE_TOKEN_CLAIMS_REJECTED");
  });

  it("without consumerClaim, passes a token with the required scopes and refuses one without (403)", async () => {
    idp.tokens.set("tok-reader", { answer: { active: true, sub: "svc-1", scope: "orders:read" } });
    idp.tokens.set("tok-writer", { answer: { active: true, sub: "svc-2", scope: "orders:write" } });
    const reader = await call("/nameless/x", "tok-reader", { "x-consumer-name": "root" });
    assert.equal(reader.status, 200);
    assert.equal(reader.body.headers["x-consumer-name"], undefined, "no consumer is named");
    const writer = await call("/nameless/x", "tok-writer");
    assert.equal(writer.status, 403);
    assert.equal(writer.body.error!.code, "GATEHOUSE_FORBIDDEN");
    assert.match(
      writer.headers["www-authenticate"] as string,
      /error="insufficient_scope", scope="orders:read"/,
    );
  });

  it("asks the endpoint once per token and answers the next requests from the cache", async () => {
    idp.tokens.set("tok-cached", { answer: { active: true, username: "alice", exp: hour() } });
    assert.equal((await call("/api/x", "tok-cached")).status, 200);
    assert.equal((await call("/api/x", "tok-cached")).status, 200);
    assert.equal(idp.posts.get("tok-cached"), 1);
    await call("/api/x", "tok-nobody");
    await call("/api/x", "tok-nobody");
    assert.equal(idp.posts.get("tok-nobody"), 1, "an inactive answer is cached too, briefly");
  });

  it("sends one POST for 50 concurrent requests with the same token", async () => {
    idp.tokens.set("tok-burst", {
      answer: { active: true, username: "alice", exp: hour() },
      delayMs: 100,
    });
    const results = await Promise.all(
      Array.from({ length: 50 }, () => call("/api/x", "tok-burst")),
    );
    assert.deepEqual(new Set(results.map((res) => res.status)), new Set([200]));
    assert.equal(idp.posts.get("tok-burst"), 1);
  });

  it("any-of: a route with key-auth and oauth2-introspection accepts either credential", async () => {
    assert.equal((await call("/either/x", "tok-alice")).body.headers["x-consumer-name"], "alice");
    const byKey = await call("/either/x", undefined, { "x-api-key": "alice-key-123" });
    assert.equal(byKey.status, 200);
    const neither = await call("/either/x");
    assert.equal(neither.status, 401);
    assert.match(neither.headers["www-authenticate"] as string, /ApiKey header="x-api-key"/);
    assert.match(neither.headers["www-authenticate"] as string, /Bearer realm="gatehouse"/);
    assert.equal(
      (await call("/either/x", "tok-unknown", { "x-api-key": "alice-key-123" })).status,
      401,
    );
  });

  it("answers 503 GATEHOUSE_AUTH_UNAVAILABLE at once when the endpoint is down", async () => {
    const res = await call("/down/x", "tok-alice");
    assert.equal(res.status, 503);
    assert.equal(res.body.error!.code, "GATEHOUSE_AUTH_UNAVAILABLE");
    assert.ok(res.ms < 1000, `${res.ms} ms`);
  });

  it("answers 503 within the timeout when the endpoint is slow, and does not cache it", async () => {
    idp.tokens.set("tok-slow", { answer: { active: true }, delayMs: 2000 });
    const res = await call("/slow/x", "tok-slow");
    assert.equal(res.status, 503);
    assert.equal(res.body.error!.code, "GATEHOUSE_AUTH_UNAVAILABLE");
    assert.ok(res.ms >= 250 && res.ms < 1000, `${res.ms} ms`);
    idp.tokens.set("tok-slow", { answer: { active: true } });
    assert.equal((await call("/slow/x", "tok-slow")).status, 200, "the failure was not remembered");
  });

  it("answers 503 when the endpoint refuses the gateway, fails, or answers something unreadable", async () => {
    const refused = await call("/badclient/x", "tok-alice");
    assert.equal(refused.status, 503);
    assert.match(refused.body.error!.message, /answered 401/);
    for (const [token, raw] of [
      ["tok-500", { status: 500, body: "{}" }],
      ["tok-html", { status: 200, body: "<html>" }],
      ["tok-noactive", { status: 200, body: '{"sub":"x"}' }],
    ] as const) {
      idp.tokens.set(token, { raw });
      const res = await call("/api/x", token);
      assert.equal(res.status, 503, token);
      assert.equal(res.body.error!.code, "GATEHOUSE_AUTH_UNAVAILABLE");
    }
  });
});

describe("oauth2-introspection config", () => {
  it("refuses a bad endpoint URL or half a client credential at FILE:LINE:COL", () => {
    const text = [
      "gateway: { listen: [{ port: 8080 }] }",
      "services: [{ name: s, targets: [{ url: http://127.0.0.1:1 }] }]",
      "routes:",
      "  - name: r",
      "    match: { paths: [/x] }",
      "    service: s",
      "    plugins:",
      "      - name: oauth2-introspection",
      "        config: { introspectionUrl: ftp://idp/introspect, clientId: gw }",
    ].join("\n");
    assert.deepEqual(configProblems(text), [
      "gw.yaml:9:17 routes[0].plugins[0].config.clientSecret: set clientId and clientSecret together",
      "gw.yaml:9:37 routes[0].plugins[0].config.introspectionUrl: expected an http:// or https:// URL without user info or #fragment",
    ]);
  });
});

describe("oauth2-introspection cache, on an injected clock", () => {
  let idp: IntrospectionServer;
  let introspector: Introspector;
  let now = 1_800_000_000_000;

  before(async () => {
    idp = await startIntrospectionServer("c", "s");
    introspector = new Introspector({
      url: new URL(idp.url),
      authorization: `Basic ${Buffer.from("c:s").toString("base64")}`,
      tokenTypeHint: "access_token",
      timeoutMs: 2000,
      ttlMs: 60_000,
      negativeTtlMs: 5000,
      maxEntries: 2,
      now: () => now,
    });
  });
  after(async () => {
    await introspector.close();
    await idp.close();
  });

  it("keeps an active answer for ttl, then asks again", async () => {
    idp.tokens.set("a", { answer: { active: true } });
    assert.equal((await introspector.introspect("a")).kind, "active");
    now += 59_000;
    assert.equal((await introspector.introspect("a")).kind, "active");
    assert.equal(idp.posts.get("a"), 1);
    now += 2000;
    await introspector.introspect("a");
    assert.equal(idp.posts.get("a"), 2);
  });

  it("never keeps an active answer past the token's exp, and then calls it expired", async () => {
    idp.tokens.set("b", { answer: { active: true, exp: now / 1000 + 10 } });
    assert.equal((await introspector.introspect("b")).kind, "active");
    now += 9000;
    assert.equal((await introspector.introspect("b")).kind, "active");
    assert.equal(idp.posts.get("b"), 1);
    now += 1000;
    assert.equal((await introspector.introspect("b")).kind, "expired");
    assert.equal(idp.posts.get("b"), 2, "the entry ended at exp");
  });

  it("keeps an inactive answer for negativeTtl only", async () => {
    await introspector.introspect("c");
    now += 4000;
    await introspector.introspect("c");
    assert.equal(idp.posts.get("c"), 1);
    now += 2000;
    assert.equal((await introspector.introspect("c")).kind, "inactive");
    assert.equal(idp.posts.get("c"), 2);
  });

  it("holds at most maxEntries answers", async () => {
    for (const token of ["d1", "d2", "d3", "d1"]) await introspector.introspect(token);
    assert.equal(idp.posts.get("d1"), 2, "d1 was evicted by d2 and d3");
  });
});
