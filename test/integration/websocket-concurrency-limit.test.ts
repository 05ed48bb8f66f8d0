// A WebSocket tunnel holds a concurrency-limit slot while it is open and gives it back when
// it closes, as a request does when its response finishes: the next tunnel is let in.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import { createGateway } from "../../src/index.ts";
import { testConfig } from "../helpers/gateway.ts";

/** Opens a tunnel, waits for the upstream's greeting; the HTTP status when refused. */
async function open(port: number): Promise<WebSocket | number> {
  const client = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const refused = once(client, "unexpected-response").then(([, res]) => {
    res.resume();
    return res.statusCode as number;
  });
  const opened = once(client, "message").then(() => client);
  return Promise.race([opened, refused]);
}

describe("concurrency-limit on a WebSocket route", () => {
  it("counts an open tunnel and gives its slot back when it closes", async () => {
    const server = createServer((_req, res) => res.end("plain"));
    const wss = new WebSocketServer({ server });
    wss.on("connection", (socket) => socket.send("hello"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const upstream = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const gateway = await createGateway(
      testConfig({
        services: [{ name: "s", targets: [{ url: upstream }] }],
        routes: [
          {
            name: "r",
            match: { paths: ["/*"] },
            service: "s",
            websocket: true,
            plugins: [{ name: "concurrency-limit", config: { limit: 1 } }],
          },
        ],
      }),
    );
    const port = gateway.addresses().proxy[0]!.port;
    try {
      const first = await open(port);
      assert.ok(first instanceof WebSocket);
      assert.equal(await open(port), 429, "a second tunnel while the first is open");
      first.close();
      await once(first, "close");
      let next: WebSocket | number = 0;
      // The slot comes back once the gateway sees the tunnel's socket close.
      for (let i = 0; i < 20 && !(next instanceof WebSocket); i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        next = await open(port);
      }
      assert.ok(next instanceof WebSocket, `refused with ${String(next)} after the first closed`);
      next.close();
      await once(next, "close");
    } finally {
      await gateway.stop();
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
