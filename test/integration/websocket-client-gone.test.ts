// A WebSocket upgrade whose client goes away while an asynchronous plugin hook waits opens
// no tunnel: the upstream sees no connection, and a stop does not wait for a tunnel nobody
// uses until gateway.shutdownTimeout.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocketServer } from "ws";
import { z } from "zod";
import { createGateway } from "../../src/index.ts";
import { definePlugin } from "../../src/pipeline/plugin.ts";
import { testConfig } from "../helpers/gateway.ts";

let hookStarted: () => void = () => {};
const hookWaiting = new Promise<void>((resolve) => {
  hookStarted = resolve;
});
let releaseHook: () => void = () => {};

/** An access hook that waits until the test lets it go on. */
const waiting = definePlugin({
  name: "waiting",
  schema: z.strictObject({}),
  priority: 10,
  create: () => ({
    access() {
      hookStarted();
      return new Promise<void>((resolve) => {
        releaseHook = resolve;
      });
    },
  }),
});

describe("a WebSocket upgrade whose client left while a hook waited", () => {
  it("opens no tunnel to the upstream", async () => {
    const server = createServer();
    const wss = new WebSocketServer({ server });
    let connections = 0;
    wss.on("connection", () => connections++);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const gateway = await createGateway(
      testConfig({
        gateway: { shutdownTimeout: "5s" },
        services: [{ name: "s", targets: [{ url }] }],
        routes: [
          {
            name: "r",
            match: { paths: ["/*"] },
            service: "s",
            websocket: true,
            plugins: [{ name: "waiting" }],
          },
        ],
      }),
      { plugins: [waiting] },
    );
    const port = gateway.addresses().proxy[0]!.port;
    try {
      const client = connect(port, "127.0.0.1");
      client.write(
        "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      );
      await hookWaiting;
      client.destroy();
      await once(client, "close");
      // Let the gateway see the client's end before the hook goes on.
      await sleep(100);
      releaseHook();
      await sleep(300);
      assert.equal(connections, 0, "a tunnel was opened for a client that had gone");
    } finally {
      const started = Date.now();
      await gateway.stop();
      const took = Date.now() - started;
      for (const socket of wss.clients) socket.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      assert.ok(took < 2000, `stop took ${took} ms`);
    }
  });
});
