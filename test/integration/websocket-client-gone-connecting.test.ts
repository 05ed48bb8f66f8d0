// A WebSocket client that goes away while the gateway waits for the upstream's 101 gets no
// tunnel: the upstream's connection is closed, and a stop does not wait for it until
// gateway.shutdownTimeout.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type WebSocket, WebSocketServer } from "ws";
import { createGateway } from "../../src/index.ts";
import { testConfig } from "../helpers/gateway.ts";

describe("a WebSocket client that left before the upstream's 101", () => {
  it("gets no tunnel: the upstream's side is closed", async () => {
    const server = createServer();
    const wss = new WebSocketServer({ noServer: true });
    let upgrading: () => void = () => {};
    const upgradeSeen = new Promise<void>((resolve) => {
      upgrading = resolve;
    });
    let accept: () => void = () => {};
    const accepted = new Promise<WebSocket>((resolve) => {
      // The upstream answers 101 only once the test says so.
      server.on("upgrade", (req, socket, head) => {
        upgrading();
        accept = () => wss.handleUpgrade(req, socket, head, resolve);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const gateway = await createGateway(
      testConfig({
        gateway: { shutdownTimeout: "5s" },
        services: [{ name: "s", targets: [{ url }] }],
        routes: [{ name: "r", match: { paths: ["/*"] }, service: "s", websocket: true }],
      }),
    );
    const port = gateway.addresses().proxy[0]!.port;
    let took = 0;
    try {
      const client = connect(port, "127.0.0.1");
      client.write(
        "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      );
      await upgradeSeen;
      client.destroy();
      await once(client, "close");
      // Let the gateway see the client's end before the upstream accepts.
      await sleep(100);
      accept();
      const upstreamSide = await accepted;
      const closed = once(upstreamSide, "close").then(() => true);
      const deadline = sleep(2000).then(() => false);
      assert.equal(await Promise.race([closed, deadline]), true, "the upstream's side stays open");
    } finally {
      const started = Date.now();
      await gateway.stop();
      took = Date.now() - started;
      for (const socket of wss.clients) socket.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    assert.ok(took < 2000, `stop took ${took} ms`);
  });
});
