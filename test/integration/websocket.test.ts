// WebSocket tunnels through the gateway against a real `ws` server.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import { startSimpleGateway } from "../helpers/gateway.ts";
import { rawRequest } from "../helpers/raw.ts";
import { startUpstream } from "../helpers/upstream.ts";

interface WsUpstream {
  url: string;
  wss: WebSocketServer;
  server: Server;
  close(): Promise<void>;
}

async function startWsUpstream(
  options: ConstructorParameters<typeof WebSocketServer>[0] = {},
): Promise<WsUpstream> {
  const server = createServer((_req, res) => res.end("plain http"));
  const wss = new WebSocketServer({ server, ...options });
  wss.on("connection", (socket, req) => {
    socket.on("message", (data, isBinary) => socket.send(isBinary ? data : `echo:${data}`));
    socket.send(`hello ${req.url} ${req.headers["x-forwarded-for"]}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    wss,
    server,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function readBody(response: NodeJS.ReadableStream): Promise<string> {
  let text = "";
  for await (const chunk of response) text += String(chunk);
  return text;
}

function nextMessage(socket: WebSocket): Promise<string> {
  return once(socket, "message").then(([data]) => String(data));
}

describe("websocket", () => {
  it("tunnels messages both ways with subprotocol and extension negotiated end to end", async () => {
    const up = await startWsUpstream({
      perMessageDeflate: true,
      handleProtocols: (protocols) => (protocols.has("chat.v2") ? "chat.v2" : false),
    });
    const gw = await startSimpleGateway([up.url], { stripPrefix: "/ws" });
    try {
      const client = new WebSocket(`ws://127.0.0.1:${gw.port}/ws/room/1`, ["chat.v1", "chat.v2"], {
        perMessageDeflate: true,
      });
      const greeting = nextMessage(client);
      await once(client, "open");
      assert.equal(client.protocol, "chat.v2");
      assert.match(client.extensions, /permessage-deflate/);
      assert.equal(await greeting, "hello /room/1 127.0.0.1");
      client.send("ping");
      assert.equal(await nextMessage(client), "echo:ping");
      const big = Buffer.alloc(200_000, 3);
      client.send(big);
      const [echoed] = await once(client, "message");
      assert.equal(Buffer.compare(echoed as Buffer, big), 0);
      client.close(1000, "bye");
      const [code] = await once(client, "close");
      assert.equal(code, 1000);
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("relays an upstream's refusal to upgrade", async () => {
    const server = createServer();
    server.on("upgrade", (_req, socket) => {
      socket.end(
        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nno way",
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const gw = await startSimpleGateway([
      `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ]);
    try {
      const client = new WebSocket(`ws://127.0.0.1:${gw.port}/`);
      client.on("error", () => {}); // terminate() while connecting reports an error
      const [, response] = await once(client, "unexpected-response");
      assert.equal(response.statusCode, 403);
      assert.equal(await readBody(response), "no way");
      client.terminate();
    } finally {
      await gw.stop();
      server.close();
    }
  });

  it("refuses the upgrade on a route with websocket: false", async () => {
    const up = await startWsUpstream();
    const gw = await startSimpleGateway([up.url], { websocket: false });
    try {
      const raw = await rawRequest(
        gw.port,
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      );
      assert.equal(raw.status, 400);
      assert.equal(JSON.parse(raw.body).error.code, "GATEHOUSE_UPGRADE_NOT_ALLOWED");
      assert.ok(raw.closed);
      assert.equal(up.wss.clients.size, 0);
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("answers an upgrade with no route with 404 JSON", async () => {
    const up = await startWsUpstream();
    const gw = await startSimpleGateway([up.url], { match: { paths: ["/only"] } });
    try {
      const client = new WebSocket(`ws://127.0.0.1:${gw.port}/elsewhere`);
      client.on("error", () => {});
      const [, response] = await once(client, "unexpected-response");
      assert.equal(response.statusCode, 404);
      assert.equal(JSON.parse(await readBody(response)).error.code, "GATEHOUSE_ROUTE_NOT_FOUND");
      client.terminate();
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("never forwards Upgrade: h2c; the request is served as plain HTTP/1.1", async () => {
    const up = await startUpstream();
    const gw = await startSimpleGateway([up.url]);
    try {
      const raw = await rawRequest(
        gw.port,
        "GET /h2 HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n" +
          "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nConnection: close\r\n\r\n",
      );
      assert.equal(raw.status, 200);
      const seen = JSON.parse(raw.body) as { headers: Record<string, string> };
      assert.equal(seen.headers.upgrade, undefined);
      assert.equal(seen.headers["http2-settings"], undefined);
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("closes an idle tunnel after timeouts.idle", async () => {
    const up = await startWsUpstream();
    const gw = await startSimpleGateway([up.url], {}, {}, { timeouts: { idle: "300ms" } });
    try {
      const client = new WebSocket(`ws://127.0.0.1:${gw.port}/`);
      await once(client, "open");
      assert.equal(gw.gateway.tunnelCount, 1);
      const [code] = await once(client, "close");
      assert.equal(code, 1006, "the gateway dropped the idle connection");
      assert.equal(gw.gateway.tunnelCount, 0);
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("closes the client side when the upstream goes away", async () => {
    const up = await startWsUpstream();
    const gw = await startSimpleGateway([up.url]);
    try {
      const client = new WebSocket(`ws://127.0.0.1:${gw.port}/`);
      await once(client, "open");
      const target = gw.gateway.runtime.services.get("svc")!.targets[0]!;
      const inFlight = () => target.inFlight;
      assert.equal(inFlight(), 1, "an open tunnel counts as a request in flight");
      for (const socket of up.wss.clients) socket.terminate();
      await once(client, "close");
      assert.equal(gw.gateway.tunnelCount, 0);
      for (let i = 0; i < 100 && target.inFlight !== 0; i++)
        await new Promise((r) => setTimeout(r, 5));
      assert.equal(target.inFlight, 0, "and stops counting once closed");
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("answers 502 JSON when the upstream is down", async () => {
    const up = await startWsUpstream();
    const url = up.url;
    await up.close();
    const gw = await startSimpleGateway([url]);
    try {
      const raw = await rawRequest(
        gw.port,
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      );
      assert.equal(raw.status, 502);
      assert.equal(JSON.parse(raw.body).error.code, "GATEHOUSE_UPSTREAM_CONNECT_FAILED");
    } finally {
      await gw.stop();
    }
  });
});
