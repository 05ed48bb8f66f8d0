// Per-request state on the context: typed keys, one request's values invisible to the
// next, the deprecated string-keyed `locals` still working (and still finding the values
// of keys of the same name), and the runner's own state out of the plugins' reach.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { compileChain, runRequestHooks } from "./chain.ts";
import { RequestContext, runnerState } from "./context.ts";
import { createStateKey } from "./request-state.ts";

const context = () =>
  new RequestContext({
    req: { headers: {} } as IncomingMessage,
    requestId: "r1",
    route: "route",
    service: "svc",
    clientAddress: "127.0.0.1",
    path: "/",
  });

describe("request state", () => {
  it("keeps each key's value for its own request only", () => {
    const count = createStateKey<number>("test.count");
    const user = createStateKey<{ id: string }>("test.user");
    const first = context();
    const second = context();
    assert.equal(first.get(count), undefined, "nothing before a set");
    first.set(count, 1);
    first.set(user, { id: "alice" });
    first.set(count, (first.get(count) ?? 0) + 1);
    assert.deepEqual([first.get(count), first.get(user)?.id], [2, "alice"]);
    assert.equal(second.get(count), undefined, "another request sees none of it");
  });

  it("reaches a key created after the request started", () => {
    const ctx = context();
    ctx.set(createStateKey<string>("test.early"), "early");
    const late = createStateKey<string>("test.late");
    ctx.set(late, "late");
    assert.equal(ctx.get(late), "late");
  });

  it("keeps ctx.locals working, and its reads find a key of the same name", () => {
    const claims = createStateKey<{ scope: string }>("test.claims");
    const ctx = context();
    ctx.locals.set("mine", 42);
    ctx.set(claims, { scope: "orders:read" });
    assert.equal(ctx.locals.get("mine"), 42);
    assert.deepEqual(ctx.locals.get("test.claims"), { scope: "orders:read" });
    assert.equal(ctx.locals.has("test.claims"), true);
    assert.equal(ctx.locals.get("nothing"), undefined);
  });
});

describe("the runner's own state", () => {
  it("is not on the plugin's view of the context", () => {
    const ctx = context();
    ctx.setUpstreamHeader("X-Tenant", "acme");
    for (const name of ["chain", "upstreamHeaders"]) {
      assert.equal(name in ctx, false, `ctx.${name} is not there to read or write`);
    }
    assert.deepEqual(runnerState.upstreamHeaders(ctx), [["x-tenant", "acme"]]);
  });

  it("follows the chain the request runs, for the pipeline only", () => {
    const ctx = context();
    const chain = compileChain([{ name: "p", priority: 1, hooks: { access() {} } }])!;
    assert.equal(runnerState.chain(ctx), undefined);
    runRequestHooks(chain, ctx);
    assert.equal(runnerState.chain(ctx), chain);
  });
});

describe("the upstream a plugin chooses, and its body transforms", () => {
  it("merges setUpstream calls, each changing only what it names", () => {
    const ctx = context();
    assert.equal(runnerState.upstreamChange(ctx), undefined, "nothing until a plugin asks");
    ctx.setUpstream({ method: "POST", path: "/a" });
    ctx.setUpstream({ path: "/b", service: "other" });
    assert.deepEqual(runnerState.upstreamChange(ctx), {
      method: "POST",
      path: "/b",
      service: "other",
    });
  });

  it("refuses a method, path or query a request line could not carry", () => {
    const ctx = context();
    assert.throws(() => ctx.setUpstream({ method: "get" }), /upper-case HTTP method/);
    assert.throws(() => ctx.setUpstream({ path: "no-slash" }), /must start with \//);
    assert.throws(() => ctx.setUpstream({ query: "?a=1" }), /without its \?/);
    assert.equal(runnerState.upstreamChange(ctx), undefined);
  });

  it("keeps body transforms in order under the smallest bound, and refuses a bad bound", () => {
    const ctx = context();
    const [first, second] = [new PassThrough(), new PassThrough()];
    ctx.transformResponseBody(first, { maxSize: 100 });
    ctx.transformResponseBody(second, { maxSize: 10 });
    const transforms = runnerState.responseBody(ctx)!;
    assert.deepEqual([transforms.streams, transforms.maxSize], [[first, second], 10]);
    assert.equal(runnerState.requestBody(ctx), undefined);
    assert.throws(() => ctx.transformRequestBody(new PassThrough(), { maxSize: 0 }), /maxSize/);
  });
});
