import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rateLimitNotes, rateLimitSentence } from "./rate-limits.ts";
import { routeSecurity } from "./security.ts";

describe("routeSecurity", () => {
  it("makes each authentication plugin a scheme, any one of them admitting", () => {
    const security = routeSecurity([
      { name: "key-auth", config: { header: "X-Key", query: "api_key" } },
      { name: "jwt", config: { secret: "never shown" } },
      { name: "cors", config: {} },
    ]);
    assert.deepEqual(security.schemes, {
      "key-auth.header.x-key": {
        type: "apiKey",
        in: "header",
        name: "X-Key",
        description: "An API key.",
      },
      "key-auth.query.api_key": {
        type: "apiKey",
        in: "query",
        name: "api_key",
        description: "An API key.",
      },
      jwt: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
    });
    assert.deepEqual(security.requirements, [
      { "key-auth.header.x-key": [] },
      { "key-auth.query.api_key": [] },
      { jwt: [] },
    ]);
    assert.ok(!JSON.stringify(security).includes("never shown"));
  });

  it("knows basic-auth and introspected tokens, and anonymous callers", () => {
    const security = routeSecurity([
      { name: "basic-auth", config: { anonymous: "guest" } },
      { name: "oauth2-introspection", config: {} },
    ]);
    assert.equal(security.schemes["basic-auth"]!.scheme, "basic");
    assert.equal(security.schemes["oauth2-introspection"]!.scheme, "bearer");
    assert.deepEqual(security.requirements.at(-1), {});
    assert.deepEqual(security.labels, [
      "HTTP Basic (user name and password)",
      "Bearer token (OAuth 2.0 access token)",
      "or none (anonymous callers admitted)",
    ]);
  });

  it("asks nothing of a route without authentication", () => {
    assert.deepEqual(routeSecurity([{ name: "cors", config: {} }]).requirements, []);
    assert.deepEqual(routeSecurity([{ name: "key-auth", config: {} }]).labels, [
      "API key (header x-api-key)",
    ]);
  });
});

describe("rate limit notes", () => {
  it("reads one limit or several, with what they count per", () => {
    const one = rateLimitNotes([{ name: "rate-limit", config: { limit: 100, window: "1m" } }]);
    assert.deepEqual(one, [{ limit: 100, window: "1m", by: "ip" }]);
    assert.equal(rateLimitSentence(one[0]!), "100 requests per 1m per ip");
    const several = rateLimitNotes([
      {
        name: "rate-limit",
        config: {
          limits: [
            { limit: 1, window: "1s" },
            { limit: 1000, window: "1h" },
          ],
          by: ["consumer", { header: "x-tenant" }],
        },
      },
    ]);
    assert.deepEqual(several.map(rateLimitSentence), [
      "1 request per 1s per consumer + header x-tenant",
      "1000 requests per 1h per consumer + header x-tenant",
    ]);
    assert.deepEqual(rateLimitNotes([{ name: "cors", config: {} }]), []);
  });
});
