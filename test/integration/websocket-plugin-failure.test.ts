// A WebSocket upgrade on a route whose plugin hook throws is answered 500 on its socket, as
// a plain request is, and the gateway goes on serving (the throw is not left uncaught).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { request } from "undici";
import { z } from "zod";
import { definePlugin } from "../../src/pipeline/plugin.ts";
import { createPluginGateway } from "../helpers/gateway.ts";
import { rawRequest } from "../helpers/raw.ts";
import { startUpstream } from "../helpers/upstream.ts";

const throwing = definePlugin({
  name: "throwing",
  schema: z.strictObject({}),
  priority: 10,
  create: () => ({
    access(ctx) {
      if (ctx.path === "/broken") throw new Error("the hook broke");
    },
  }),
});

const upgrade =
  "GET /broken HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

describe("a plugin hook that throws on a WebSocket upgrade", () => {
  it("answers 500 GATEHOUSE_INTERNAL and the gateway keeps serving", async () => {
    const up = await startUpstream((_req, res) => res.end("ok"));
    const gateway = await createPluginGateway(up.url, [{ name: "throwing" }], [throwing], {
      websocket: true,
    });
    const port = gateway.addresses().proxy[0]!.port;
    try {
      const answer = await rawRequest(port, upgrade);
      assert.equal(answer.status, 500);
      assert.equal(JSON.parse(answer.body).error.code, "GATEHOUSE_INTERNAL");
      const after = await request(`http://127.0.0.1:${port}/fine`);
      assert.equal(await after.body.text(), "ok");
    } finally {
      await gateway.stop();
      await up.close();
    }
  });
});
