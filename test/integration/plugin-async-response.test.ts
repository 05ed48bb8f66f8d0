// An onResponse hook that returns a promise holds the upstream's response until it
// settles, and may replace it with ctx.respond (status, headers, body): over real sockets
// the client sees the held response whole with the hook's header, or the replacement and
// nothing of the upstream's (with the headers of the hooks that run after the replacing
// one, which cannot replace it again), or a 500 when the hook fails.
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { z } from "zod";
import type { Gateway } from "../../src/gateway.ts";
import { createGateway } from "../../src/index.ts";
import { definePlugin } from "../../src/pipeline/plugin.ts";
import { testConfig } from "../helpers/gateway.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

/** Answers 404 under /missing, else 200 with a body naming the path. */
function upstreamHandler(req: IncomingMessage, res: ServerResponse): void {
  const missing = req.url!.startsWith("/missing");
  res.writeHead(missing ? 404 : 200, { "content-type": "text/plain", "x-upstream": "yes" });
  res.end(missing ? "not here" : `upstream body for ${req.url}`);
}

/** Checks (after a wait) every response, and puts a fallback in place of a 404. */
const fallback = definePlugin({
  name: "fallback",
  schema: z.strictObject({ wait: z.boolean() }),
  priority: 10,
  create: (config) => ({
    async onResponse(ctx, response) {
      if (config.wait) await sleep(20);
      if (ctx.path === "/fails") throw new Error("the check broke");
      response.headers.push("x-checked", "yes");
      if (response.status === 404) {
        ctx.respond(200, { fallback: true, path: ctx.path }, { "x-fallback": "1" });
      }
    },
  }),
});

/** A synchronous hook that replaces 404s too: no promise, no wait. */
const syncFallback = definePlugin({
  name: "sync-fallback",
  schema: z.strictObject({}),
  priority: 10,
  create: () => ({
    onResponse(ctx, response) {
      if (response.status === 404) ctx.respond(410, "gone for good");
    },
  }),
});

/**
 * Runs after the fallbacks (lower onResponse order): adds a header to whatever is sent,
 * and tries to answer again on an answer, which must not change it.
 */
const stamp = definePlugin({
  name: "stamp",
  schema: z.strictObject({}),
  priority: 20,
  create: () => ({
    onResponse(ctx, response) {
      response.headers.push("x-stamped", String(response.status));
      if (ctx.answer) ctx.respond(599, "answered twice");
    },
  }),
});

describe("an asynchronous onResponse that may replace the response", () => {
  let up: Upstream;
  let gateway: Gateway;
  let base: string;

  before(async () => {
    up = await startUpstream(upstreamHandler);
    gateway = await createGateway(
      testConfig({
        services: [{ name: "s", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "async",
            match: { paths: ["/async/*", "/missing/async", "/fails"] },
            service: "s",
            plugins: [{ name: "fallback", config: { wait: true } }, { name: "stamp" }],
          },
          {
            name: "sync",
            match: { paths: ["/sync/*", "/missing/sync"] },
            service: "s",
            plugins: [{ name: "sync-fallback" }, { name: "stamp" }],
          },
        ],
      }),
      { plugins: [fallback, syncFallback, stamp] },
    );
    base = `http://127.0.0.1:${gateway.addresses().proxy[0]!.port}`;
  });

  after(async () => {
    await gateway?.stop();
    await up?.close();
  });

  it("holds the upstream's response until the hook settles, then sends it whole", async () => {
    const res = await request(`${base}/async/one`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["x-checked"], "yes");
    assert.equal(res.headers["x-upstream"], "yes");
    assert.equal(res.headers["x-stamped"], "200");
    assert.equal(await res.body.text(), "upstream body for /async/one");
  });

  it("replaces the upstream's response with the hook's answer", async () => {
    const res = await request(`${base}/missing/async`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["content-type"], "application/json");
    assert.equal(res.headers["x-fallback"], "1");
    assert.equal(res.headers["x-upstream"], undefined);
    // The hook after the replacing one ran on the replacement, and could not replace it.
    assert.equal(res.headers["x-stamped"], "200");
    assert.ok(res.headers["x-request-id"]);
    assert.deepEqual(await res.body.json(), { fallback: true, path: "/missing/async" });
  });

  it("replaces it from a synchronous hook too", async () => {
    const res = await request(`${base}/missing/sync`);
    assert.equal(res.statusCode, 410);
    assert.equal(res.headers["x-stamped"], "410");
    assert.equal(await res.body.text(), "gone for good");
    const plain = await request(`${base}/sync/two`);
    assert.equal(await plain.body.text(), "upstream body for /sync/two");
  });

  it("answers 500 when the hook fails, and the gateway serves on", async () => {
    const res = await request(`${base}/fails`);
    assert.equal(res.statusCode, 500);
    assert.equal(
      ((await res.body.json()) as { error: { code: string } }).error.code,
      "GATEHOUSE_INTERNAL",
    );
    const next = await request(`${base}/async/after`);
    assert.equal(await next.body.text(), "upstream body for /async/after");
  });

  it("serves many replaced and held responses on kept-alive connections", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const res = await request(`${base}/${i % 2 ? "missing" : "async"}/async`);
        return [res.statusCode, await res.body.text()] as const;
      }),
    );
    for (const [i, [status, text]] of results.entries()) {
      assert.equal(status, 200);
      assert.ok(i % 2 ? text.includes("fallback") : text.startsWith("upstream body"), text);
    }
  });
});
