// Per-target connection limits: a full target is skipped, and a service whose targets are
// all full answers 503 at once rather than queueing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { request } from "undici";
import { startSimpleGateway } from "../helpers/gateway.ts";
import { startUpstream } from "../helpers/upstream.ts";

describe("maxConnections", () => {
  it("answers 503 at once when every target is at its limit", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const up = await startUpstream(async (_req, res) => {
      await held;
      res.end("done");
    });
    const gw = await startSimpleGateway([up.url], {}, {}, { limits: { maxConnections: 1 } });
    try {
      const first = request(`${gw.url}/slow`);
      while (up.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const started = Date.now();
      const second = await request(`${gw.url}/slow`);
      assert.equal(second.statusCode, 503);
      assert.equal(
        ((await second.body.json()) as { error: { code: string } }).error.code,
        "GATEHOUSE_NO_AVAILABLE_TARGET",
      );
      assert.ok(Date.now() - started < 1000, "refused at once, not queued");
      release();
      assert.equal(await (await first).body.text(), "done");
      assert.equal(await (await request(`${gw.url}/again`)).body.text(), "done", "free again");
    } finally {
      release();
      await gw.stop();
      await up.close();
    }
  });
});
