// A request whose later plugin hook fails, or whose client goes away while a later hook
// waits, still runs its route's onLog hooks: a concurrency-limit slot taken in access
// comes back, and the next request is let in rather than refused with 429.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { request } from "undici";
import { z } from "zod";
import { definePlugin } from "../../src/pipeline/plugin.ts";
import { createPluginGateway } from "../helpers/gateway.ts";
import { startUpstream } from "../helpers/upstream.ts";

/** Runs after concurrency-limit (910): throws on /throw, fails its promise on /reject. */
const failing = definePlugin({
  name: "failing-after-limit",
  schema: z.strictObject({}),
  priority: 905,
  create: () => ({
    access(ctx) {
      if (ctx.path === "/throw") throw new Error("the hook broke");
      if (ctx.path === "/reject") return Promise.reject(new Error("the hook broke later"));
      return undefined;
    },
  }),
});

describe("onLog hooks of a request whose plugin hook failed", () => {
  it("give a concurrency-limit slot back", async () => {
    const up = await startUpstream((_req, res) => res.end("ok"));
    const gateway = await createPluginGateway(
      up.url,
      [{ name: "concurrency-limit", config: { limit: 1 } }, { name: "failing-after-limit" }],
      [failing],
    );
    const base = `http://127.0.0.1:${gateway.addresses().proxy[0]!.port}`;
    try {
      for (const path of ["/throw", "/reject"]) {
        const broken = await request(`${base}${path}`);
        assert.equal(broken.statusCode, 500, path);
        await broken.body.dump();
        const next = await request(`${base}/fine`);
        assert.equal(next.statusCode, 200, `after ${path}: ${await next.body.text()}`);
      }
    } finally {
      await gateway.stop();
      await up.close();
    }
  });
});
