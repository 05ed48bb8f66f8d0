// A plugin's streamed answer (ctx.respond with a Readable) is destroyed, not left open, when
// the client goes away while an asynchronous onResponse hook holds the answer.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect } from "node:net";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { z } from "zod";
import { definePlugin } from "../../src/pipeline/plugin.ts";
import { createPluginGateway } from "../helpers/gateway.ts";
import { startUpstream } from "../helpers/upstream.ts";

let body: Readable | undefined;
let releaseHook: () => void = () => {};
let hookStarted: () => void = () => {};
const hookHeld = new Promise<void>((resolve) => {
  hookStarted = resolve;
});

const streaming = definePlugin({
  name: "streaming-answer",
  schema: z.strictObject({}),
  priority: 10,
  create: () => ({
    access(ctx) {
      body = new Readable({ read() {} });
      ctx.respond(200, body);
    },
    onResponse() {
      hookStarted();
      return new Promise<void>((resolve) => {
        releaseHook = resolve;
      });
    },
  }),
});

let upgradeBody: Readable | undefined;
const upgradeAnswer = definePlugin({
  name: "streaming-upgrade-answer",
  schema: z.strictObject({}),
  priority: 10,
  create: () => ({
    access(ctx) {
      upgradeBody = new Readable({ read() {} });
      upgradeBody.push("the first part of a long answer");
      ctx.respond(403, upgradeBody);
    },
  }),
});

describe("a plugin's streamed answer whose client went away", () => {
  it("is destroyed once the onResponse hook that held it settles", async () => {
    const up = await startUpstream((_req, res) => res.end("upstream"));
    const gateway = await createPluginGateway(up.url, [{ name: "streaming-answer" }], [streaming]);
    const port = gateway.addresses().proxy[0]!.port;
    try {
      const socket = connect(port, "127.0.0.1");
      socket.write("GET /stream HTTP/1.1\r\nHost: a\r\n\r\n");
      await hookHeld;
      socket.destroy();
      await once(socket, "close");
      // Let the gateway see the client's close before the hook settles.
      await new Promise((resolve) => setTimeout(resolve, 100));
      releaseHook();
      const destroyed = once(body!, "close").then(() => true);
      const deadline = new Promise((resolve) => setTimeout(resolve, 2000, false));
      assert.equal(
        await Promise.race([destroyed, deadline]),
        true,
        "the answer's stream is left open",
      );
    } finally {
      await gateway.stop();
      await up.close();
    }
  });

  it("is destroyed when the client of a WebSocket upgrade it answers goes away", async () => {
    const up = await startUpstream((_req, res) => res.end("upstream"));
    const gateway = await createPluginGateway(
      up.url,
      [{ name: "streaming-upgrade-answer" }],
      [upgradeAnswer],
      { websocket: true },
    );
    const port = gateway.addresses().proxy[0]!.port;
    try {
      const socket = connect(port, "127.0.0.1");
      socket.write(
        "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      );
      await once(socket, "data");
      socket.destroy();
      const destroyed = once(upgradeBody!, "close").then(() => true);
      const deadline = new Promise((resolve) => setTimeout(resolve, 2000, false));
      assert.equal(
        await Promise.race([destroyed, deadline]),
        true,
        "the answer's stream is left open",
      );
    } finally {
      await gateway.stop();
      await up.close();
    }
  });
});
