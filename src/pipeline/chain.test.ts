// The plugin chain: phase order, priorities, the synchronous fast path, answers that stop
// the chain, onResponse unwinding, and onLog failures kept from the client.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { createLogger } from "../observability/logger.ts";
import {
  type ChainEntry,
  compileChain,
  runFailureHooks,
  runLogHooks,
  runRequestHooks,
  runResponseHooks,
} from "./chain.ts";
import { RequestContext, runnerState } from "./context.ts";
import type { PluginHooks } from "./plugin.ts";

const context = () =>
  new RequestContext({
    req: { headers: {} } as IncomingMessage,
    requestId: "r1",
    route: "r",
    service: "s",
    clientAddress: "127.0.0.1",
    path: "/",
  });

function recorder(name: string, calls: string[], extra: Partial<PluginHooks> = {}): PluginHooks {
  return {
    onRequest: () => void calls.push(`${name}.onRequest`),
    access: () => void calls.push(`${name}.access`),
    beforeUpstream: () => void calls.push(`${name}.beforeUpstream`),
    onResponse: () => void calls.push(`${name}.onResponse`),
    onLog: () => void calls.push(`${name}.onLog`),
    ...extra,
  };
}

describe("plugin chain", () => {
  it("runs phase by phase, higher priority first, and unwinds onResponse", () => {
    const calls: string[] = [];
    const chain = compileChain([
      { priority: 10, hooks: recorder("low", calls) },
      { priority: 1000, hooks: recorder("auth", calls) },
    ])!;
    const ctx = context();
    assert.equal(runRequestHooks(chain, ctx), undefined, "all synchronous: no promise");
    runResponseHooks(chain, ctx, { status: 200, headers: [] });
    runLogHooks(chain, ctx);
    assert.deepEqual(calls, [
      "auth.onRequest",
      "low.onRequest",
      "auth.access",
      "low.access",
      "auth.beforeUpstream",
      "low.beforeUpstream",
      "low.onResponse",
      "auth.onResponse",
      "auth.onLog",
      "low.onLog",
    ]);
  });

  it("is undefined when no plugin has a hook", () => {
    assert.equal(compileChain([]), undefined);
    assert.equal(compileChain([{ priority: 1, hooks: {} }]), undefined);
  });

  it("awaits only hooks that return a promise, and stops at an answer", async () => {
    const calls: string[] = [];
    const chain = compileChain([
      {
        priority: 3,
        hooks: {
          access: async (ctx) => {
            await new Promise((resolve) => setImmediate(resolve));
            calls.push("async");
            ctx.fail("GATEHOUSE_ROUTE_NOT_FOUND");
          },
        },
      },
      { priority: 2, hooks: { access: () => void calls.push("never") } },
    ])!;
    const ctx = context();
    const pending = runRequestHooks(chain, ctx);
    assert.ok(pending instanceof Promise);
    await pending;
    assert.deepEqual(calls, ["async"]);
    assert.equal(ctx.answer?.status, 404);
    assert.equal(JSON.parse(String(ctx.answer!.body)).error.requestId, "r1");
  });

  it("lets onResponse change the client's headers", () => {
    const chain = compileChain([
      {
        priority: 1,
        hooks: {
          onResponse: (_ctx, response) => void response.headers.push("x-frame-options", "DENY"),
        },
      },
    ])!;
    const response = { status: 200, headers: ["content-type", "text/plain"] };
    runResponseHooks(chain, context(), response);
    assert.deepEqual(response.headers, ["content-type", "text/plain", "x-frame-options", "DENY"]);
  });

  it("waits only for an onResponse hook that returns a promise, and pauses at a replacement", async () => {
    const calls: string[] = [];
    const sync = compileChain([
      { priority: 2, hooks: { onResponse: () => void calls.push("a") } },
      { priority: 1, hooks: { onResponse: () => void calls.push("b") } },
    ])!;
    assert.equal(runResponseHooks(sync, context(), { status: 200, headers: [] }), undefined);
    assert.deepEqual(calls, ["b", "a"]);

    calls.length = 0;
    const replacing = compileChain([
      { priority: 3, hooks: { onResponse: () => void calls.push("after") } },
      {
        priority: 2,
        hooks: {
          onResponse: async (ctx, response) => {
            await new Promise((resolve) => setImmediate(resolve));
            calls.push("replace");
            if (response.status === 404) ctx.respond(200, { fallback: true });
          },
        },
      },
      { priority: 1, hooks: { onResponse: () => void calls.push("first") } },
    ])!;
    const ctx = context();
    const pending = runResponseHooks(replacing, ctx, { status: 404, headers: [] });
    assert.ok(pending instanceof Promise);
    await pending;
    assert.deepEqual(calls, ["first", "replace"]);
    assert.equal(ctx.answer?.status, 200);
    assert.equal(ctx.answer?.headers["content-type"], "application/json");
    // The hooks after the replacing one then run on the replacement.
    assert.equal(runnerState.resumeAt(ctx), 2);
    runResponseHooks(replacing, ctx, { status: 200, headers: [] }, runnerState.resumeAt(ctx));
    assert.deepEqual(calls, ["first", "replace", "after"]);
  });

  it("runs the hooks after a replacement on it, headers only: a second answer is ignored", () => {
    const chain = compileChain([
      {
        priority: 3,
        hooks: {
          onResponse: (ctx, response) => {
            response.headers.push("access-control-allow-origin", "*");
            ctx.respond(500, "second");
          },
        },
      },
      { priority: 2, hooks: { onResponse: (ctx) => ctx.respond(200, "replacement") } },
      {
        priority: 1,
        hooks: { onResponse: (_ctx, response) => void response.headers.push("x-a", "1") },
      },
    ])!;
    const ctx = context();
    const upstream = { status: 404, headers: [] as string[] };
    assert.equal(runResponseHooks(chain, ctx, upstream), undefined);
    assert.deepEqual(upstream.headers, ["x-a", "1"]);
    const answer = ctx.answer;
    assert.equal(answer?.body, "replacement");
    const replaced = { status: 200, headers: [] as string[] };
    runResponseHooks(chain, ctx, replaced, runnerState.resumeAt(ctx));
    assert.deepEqual(replaced.headers, ["access-control-allow-origin", "*"]);
    assert.equal(ctx.answer, answer);
    ctx.fail("GATEHOUSE_INTERNAL");
    assert.equal(ctx.answer, answer);
  });

  it("goes on in a consumer's own chain once a hook names that consumer", async () => {
    for (const async of [false, true]) {
      const calls: string[] = [];
      const auth: PluginHooks = {
        access: (ctx) => {
          ctx.consumer = { name: "alice", groups: [] };
          calls.push("auth.access");
          return async ? new Promise((resolve) => setImmediate(resolve)) : undefined;
        },
      };
      const entries = (limit: string) => [
        { name: "auth", priority: 1000, hooks: auth },
        { name: "limit", priority: 900, hooks: recorder(limit, calls) },
        { name: "edge", priority: 3000, hooks: recorder("edge", calls) },
      ];
      const chain = compileChain(
        entries("route-limit"),
        new Map([["alice", entries("own-limit")]]),
      )!;
      const ctx = context();
      await runRequestHooks(chain, ctx);
      assert.notEqual(runnerState.chain(ctx), chain, "the request runs alice's chain from now on");
      runResponseHooks(runnerState.chain(ctx)!, ctx, { status: 200, headers: [] });
      assert.deepEqual(calls, [
        "edge.onRequest",
        "route-limit.onRequest",
        "edge.access",
        "auth.access",
        "own-limit.access",
        "edge.beforeUpstream",
        "own-limit.beforeUpstream",
        "own-limit.onResponse",
        "edge.onResponse",
      ]);
    }
  });

  it("keeps the route's chain for a consumer without plugins of its own", () => {
    const calls: string[] = [];
    const auth: PluginHooks = {
      access: (ctx) => {
        ctx.consumer = { name: "bob", groups: [] };
      },
    };
    const chain = compileChain(
      [
        { name: "auth", priority: 1000, hooks: auth },
        { name: "limit", priority: 900, hooks: recorder("route-limit", calls) },
      ],
      new Map([["alice", [{ name: "limit", priority: 900, hooks: recorder("own", calls) }]]]),
    )!;
    const ctx = context();
    runRequestHooks(chain, ctx);
    assert.equal(runnerState.chain(ctx), chain);
    assert.deepEqual(calls, [
      "route-limit.onRequest",
      "route-limit.access",
      "route-limit.beforeUpstream",
    ]);
  });

  it("keeps a failing onLog hook from stopping the others, and logs it as the plugin's", () => {
    const calls: string[] = [];
    const written: string[] = [];
    const log = createLogger(
      { level: "info", destination: "stdout" },
      { write: (line: string) => void written.push(line) },
    ).child({ plugin: "sink", scope: "global" });
    const chain = compileChain([
      {
        priority: 2,
        name: "sink",
        log,
        hooks: {
          onLog: () => {
            throw new Error("log sink down");
          },
        },
      },
      { priority: 1, hooks: { onLog: () => void calls.push("second") } },
    ])!;
    runLogHooks(chain, context());
    assert.deepEqual(calls, ["second"]);
    assert.equal(written.length, 1);
    const line = JSON.parse(written[0]!) as Record<string, unknown>;
    assert.equal(line.level, "error");
    assert.equal(line.plugin, "sink");
    assert.equal(line.scope, "global");
    assert.equal(line.hook, "onLog");
    assert.equal(line.requestId, "r1");
    assert.equal((line.err as { message: string }).message, "log sink down");
  });
});

describe("onUpstreamFailure hooks", () => {
  it("run in onResponse order until one answers, and only chains that have one carry them", () => {
    const calls: string[] = [];
    const entry = (name: string, priority: number, answers: boolean): ChainEntry => ({
      name,
      priority,
      hooks: {
        onUpstreamFailure(ctx) {
          calls.push(name);
          if (answers) ctx.respond(200, "stale copy");
        },
      },
    });
    const chain = compileChain([entry("high", 900, false), entry("low", 50, true)])!;
    const ctx = context();
    assert.equal(runFailureHooks(chain, ctx, "GATEHOUSE_UPSTREAM_CONNECT_FAILED"), true);
    assert.deepEqual(calls, ["low"]);
    assert.equal(ctx.answer?.body, "stale copy");
    const quiet = compileChain([{ name: "x", priority: 1, hooks: { onLog() {} } }])!;
    assert.equal(quiet.failure, undefined);
    assert.equal(runFailureHooks(quiet, context(), "GATEHOUSE_UPSTREAM_TIMEOUT"), false);
  });
});
