// The `by` option compiled into key functions: each part, combinations, and the fall back
// to the client IP when a part cannot be formed.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { RequestContext } from "../../pipeline/context.ts";
import { compileKey } from "./keys.ts";

const contextOf = (headers: Record<string, string>, consumer?: string) => {
  const ctx = new RequestContext({
    req: { headers } as unknown as IncomingMessage,
    requestId: "id",
    route: "orders",
    service: "shop",
    clientAddress: "203.0.113.7",
    path: "/",
  });
  if (consumer) ctx.consumer = { name: consumer, groups: [] };
  return ctx;
};

describe("rate-limit keys", () => {
  it("keys by each part", () => {
    const ctx = contextOf({ "x-tenant": "acme", authorization: "Bearer abc" }, "alice");
    assert.equal(compileKey("ip")(ctx), "ip:203.0.113.7");
    assert.equal(compileKey("consumer")(ctx), "consumer:alice");
    assert.equal(compileKey("route")(ctx), "route:orders");
    assert.equal(compileKey("service")(ctx), "service:shop");
    assert.equal(compileKey({ header: "X-Tenant" })(ctx), "header:x-tenant=acme");
    const credential = compileKey("credential")(ctx);
    assert.match(credential, /^credential:[\w-]{22}$/);
    assert.ok(!credential.includes("abc"), "no secret in the key");
    assert.notEqual(
      compileKey("credential")(contextOf({ authorization: "Bearer abd" })),
      credential,
    );
  });

  it("falls back to the client IP for a part that cannot be formed", () => {
    const bare = contextOf({});
    assert.equal(compileKey("consumer")(bare), "ip:203.0.113.7");
    assert.equal(compileKey("credential")(bare), "ip:203.0.113.7");
    assert.equal(compileKey({ header: "x-tenant" })(bare), "ip:203.0.113.7");
  });

  it("combines parts, each falling back on its own", () => {
    const by = compileKey(["consumer", { header: "x-tenant" }]);
    assert.equal(
      by(contextOf({ "x-tenant": "acme" }, "alice")),
      "consumer:alice|header:x-tenant=acme",
    );
    assert.equal(by(contextOf({}, "alice")), "consumer:alice|ip:203.0.113.7");
  });
});
