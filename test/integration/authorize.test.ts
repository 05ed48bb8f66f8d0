// authorize over real sockets, after key-auth (consumers, groups) and after
// oauth2-introspection against a real endpoint (scopes, claims): rules by method and
// path, the first that applies decides, a default for the rest, 401 without an identity,
// and rule mistakes refused at FILE:LINE:COL.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { configProblems } from "../helpers/config-problems.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import {
  type IntrospectionServer,
  startIntrospectionServer,
} from "../helpers/introspection-server.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

type Seen = { headers: Record<string, string>; error?: { code: string } };

describe("authorize", () => {
  let up: Upstream;
  let idp: IntrospectionServer;
  let gw: RunningGateway;

  before(async () => {
    up = await startUpstream(echo);
    idp = await startIntrospectionServer("gw", "secret");
    idp.tokens.set("reader", { answer: { active: true, scope: "orders:read", tenant: "acme" } });
    idp.tokens.set("writer-acme", {
      answer: {
        active: true,
        scope: "orders:read orders:write",
        tenant: "acme",
        roles: ["clerk", "buyer"],
      },
    });
    idp.tokens.set("writer-evil", {
      answer: { active: true, scope: "orders:write", tenant: "evil" },
    });
    gw = await startGateway(
      testConfig({
        consumers: [
          { name: "alice", groups: ["admins"], credentials: { keys: ["alice-key-123"] } },
          { name: "bob", groups: ["users"], credentials: { keys: ["bob-key-12345"] } },
        ],
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "shop",
            match: { paths: ["/shop/*"] },
            service: "svc",
            plugins: [
              { name: "key-auth" },
              {
                name: "authorize",
                config: {
                  rules: [
                    { methods: ["DELETE"], paths: ["/shop/*"], groups: ["admins"] },
                    { paths: ["/shop/internal/*"], allow: false },
                    { paths: ["/shop/users/:id"], consumers: ["alice"] },
                    { methods: ["GET", "POST"], paths: ["/shop/*"] },
                  ],
                },
              },
            ],
          },
          {
            name: "open",
            match: { paths: ["/open/*"] },
            service: "svc",
            plugins: [
              { name: "key-auth", config: { anonymous: "guest" } },
              {
                name: "authorize",
                config: {
                  default: "allow",
                  rules: [{ paths: ["/open/admin"], groups: ["admins"] }],
                },
              },
            ],
          },
          {
            name: "noauth",
            match: { paths: ["/noauth/*"] },
            service: "svc",
            plugins: [{ name: "authorize", config: { rules: [{ groups: ["admins"] }] } }],
          },
          {
            name: "orders",
            match: { paths: ["/orders/*"] },
            service: "svc",
            plugins: [
              {
                name: "oauth2-introspection",
                config: { introspectionUrl: idp.url, clientId: "gw", clientSecret: "secret" },
              },
              {
                name: "authorize",
                config: {
                  rules: [
                    { methods: ["GET"], paths: ["/orders/*"], scopes: ["orders:read"] },
                    {
                      methods: ["POST"],
                      paths: ["/orders/*"],
                      scopes: ["orders:write"],
                      claims: { tenant: ["acme", "globex"] },
                    },
                    { methods: ["PUT"], paths: ["/orders/:id"], claims: { roles: "clerk" } },
                  ],
                },
              },
            ],
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

  const call = async (method: string, path: string, headers: Record<string, string> = {}) => {
    const res = await request(`${gw.url}${path}`, { method: method as "GET", headers });
    return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as Seen };
  };
  const alice = { "x-api-key": "alice-key-123" };
  const bob = { "x-api-key": "bob-key-12345" };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it("allows by method and path, and refuses a group or consumer the rule does not name (403)", async () => {
    assert.equal((await call("GET", "/shop/items", bob)).status, 200);
    assert.equal((await call("DELETE", "/shop/items", alice)).status, 200);
    const refused = await call("DELETE", "/shop/items", bob);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error!.code, "GATEHOUSE_FORBIDDEN");
    assert.equal((await call("GET", "/shop/users/7", alice)).status, 200);
    assert.equal((await call("GET", "/shop/users/7", bob)).status, 403);
  });

  it("lets the first rule that applies decide, even when a later one would say otherwise", async () => {
    assert.equal(
      (await call("GET", "/shop/internal/x", alice)).status,
      403,
      "allow: false comes before the GET rule",
    );
    assert.equal(
      (await call("DELETE", "/shop/internal/x", alice)).status,
      200,
      "the DELETE rule comes first",
    );
  });

  it("applies the default to a request no rule applies to: deny, or allow", async () => {
    assert.equal((await call("PUT", "/shop/items", alice)).status, 403);
    assert.equal((await call("GET", "/open/anything")).status, 200);
    assert.equal(
      (await call("GET", "/open/admin")).status,
      403,
      "the anonymous guest is in no group",
    );
    assert.equal((await call("GET", "/open/admin", alice)).status, 200);
  });

  it("answers 401 when a rule needs an identity and no plugin identified the client", async () => {
    const res = await call("GET", "/noauth/x");
    assert.equal(res.status, 401);
    assert.equal(res.body.error!.code, "GATEHOUSE_UNAUTHORIZED");
  });

  it("checks token scopes, with insufficient_scope when one is missing", async () => {
    assert.equal((await call("GET", "/orders/1", bearer("reader"))).status, 200);
    const res = await call("GET", "/orders/1", bearer("writer-evil"));
    assert.equal(res.status, 403);
    assert.equal(
      res.headers["www-authenticate"],
      'Bearer error="insufficient_scope", scope="orders:read"',
    );
  });

  it("checks token claims against one value or a list, and array claims by any element", async () => {
    assert.equal((await call("POST", "/orders/1", bearer("writer-acme"))).status, 200);
    const evil = await call("POST", "/orders/1", bearer("writer-evil"));
    assert.equal(evil.status, 403);
    assert.equal(evil.headers["www-authenticate"], undefined, "scopes were not the problem");
    assert.equal((await call("POST", "/orders/1", bearer("reader"))).status, 403);
    assert.equal((await call("PUT", "/orders/1", bearer("writer-acme"))).status, 200);
    assert.equal((await call("PUT", "/orders/1", bearer("reader"))).status, 403);
  });
});

describe("authorize config", () => {
  it("refuses a bad path pattern and a denying rule with conditions at FILE:LINE:COL", () => {
    const text = [
      "gateway: { listen: [{ port: 8080 }] }",
      "services: [{ name: s, targets: [{ url: http://127.0.0.1:1 }] }]",
      "routes:",
      "  - name: r",
      "    match: { paths: [/x] }",
      "    service: s",
      "    plugins:",
      "      - name: authorize",
      "        config:",
      "          rules:",
      '            - { paths: ["/files/*/x"] }',
      "            - { allow: false, scopes: [admin] }",
    ].join("\n");
    assert.deepEqual(configProblems(text), [
      'gw.yaml:11:25 routes[0].plugins[0].config.rules[0].paths[0]: path "/files/*/x": * is only allowed as the last segment',
      "gw.yaml:12:39 routes[0].plugins[0].config.rules[1].scopes: a rule with allow: false refuses all it applies to, so it cannot have conditions",
    ]);
  });
});
