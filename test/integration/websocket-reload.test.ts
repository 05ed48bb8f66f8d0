// WebSocket tunnels across reloads, with a real `ws` client and server: a tunnel on a route
// that stays keeps flowing; one on a removed route is closed with 1001 after
// gateway.reload.webSocketGrace (short here), while new upgrades on that route get 404
// at once; a route that comes back within the grace keeps its tunnels; a frame in flight
// either way is finished before the close frame goes out.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { describe, it } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import type { GatehouseConfigInput } from "../../src/config/schema/index.ts";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";

interface EchoUpstream {
  url: string;
  /** Close codes the upstream saw, in order. */
  closes: number[];
  close(): Promise<void>;
}

async function startEchoUpstream(): Promise<EchoUpstream> {
  const server = createServer((_req, res) => res.end("plain http"));
  const wss = new WebSocketServer({ server });
  const closes: number[] = [];
  wss.on("connection", (socket) => {
    socket.on("message", (data) => socket.send(`echo:${data}`));
    socket.on("close", (code) => closes.push(code));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    closes,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * An upstream that does the handshake itself and hands the test its socket, so the test
 * can write frames byte by byte (half a frame, then the rest).
 */
async function startRawUpstream(): Promise<{
  url: string;
  socket: Promise<Socket>;
  close(): Promise<void>;
}> {
  const server = createServer((_req, res) => res.end("plain http"));
  const sockets: Socket[] = [];
  const socket = new Promise<Socket>((resolve) => {
    server.on("upgrade", (req: IncomingMessage, raw: Socket) => {
      sockets.push(raw);
      const accept = createHash("sha1")
        .update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest("base64");
      raw.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      raw.on("error", () => {});
      resolve(raw);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    socket,
    close: async () => {
      for (const raw of sockets) raw.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

type Route = NonNullable<GatehouseConfigInput["routes"]>[number];

const chat: Route = { name: "chat", match: { paths: ["/chat", "/chat/*"] }, service: "svc" };
const feed: Route = { name: "feed", match: { paths: ["/feed", "/feed/*"] }, service: "svc" };

function config(upstream: string, routes: Route[], grace: string): GatehouseConfigInput {
  return testConfig({
    gateway: { reload: { webSocketGrace: grace } },
    services: [{ name: "svc", targets: [{ url: upstream }] }],
    routes,
  });
}

function reload(gw: RunningGateway, input: GatehouseConfigInput): Promise<void> {
  return gw.gateway.reload(parseGatewayConfig(JSON.stringify(input), "reload.yaml", {}));
}

async function connect(gw: RunningGateway, path: string): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${gw.port}${path}`);
  await once(socket, "open");
  return socket;
}

async function roundTrip(socket: WebSocket, text: string): Promise<string> {
  const reply = once(socket, "message").then(([data]) => String(data));
  socket.send(text);
  return reply;
}

/** The upgrade's answer when it is refused (the status the client saw). */
function refusedStatus(gw: RunningGateway, path: string): Promise<number> {
  const socket = new WebSocket(`ws://127.0.0.1:${gw.port}${path}`);
  return new Promise((resolve, reject) => {
    socket.once("unexpected-response", (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    socket.once("open", () => reject(new Error(`upgrade on ${path} was accepted`)));
    socket.once("error", () => {});
  });
}

/** Polls (bounded) until `check` holds. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), what);
}

describe("websocket tunnels across reloads", () => {
  it("keeps a tunnel on a route that stays, both ways", async () => {
    const up = await startEchoUpstream();
    const gw = await startGateway(config(up.url, [chat, feed], "100ms"));
    try {
      const socket = await connect(gw, "/chat/room");
      assert.equal(await roundTrip(socket, "before"), "echo:before");
      // feed goes away, chat stays (its paths may change: the route is the same one).
      await reload(gw, config(up.url, [{ ...chat, match: { paths: ["/chat/*"] } }], "100ms"));
      assert.equal(await roundTrip(socket, "after"), "echo:after");
      // Well past the grace period, still open.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(socket.readyState, WebSocket.OPEN);
      assert.equal(await roundTrip(socket, "later"), "echo:later");
      assert.equal(gw.gateway.tunnelCount, 1);
      socket.close(1000);
      await once(socket, "close");
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("closes a tunnel on a removed route with 1001 after the grace, and 404s new upgrades at once", async () => {
    const up = await startEchoUpstream();
    const gw = await startGateway(config(up.url, [chat, feed], "1s"));
    try {
      const kept = await connect(gw, "/chat/room");
      const removed = await connect(gw, "/feed/live");
      const closed = once(removed, "close");
      const reloadedAt = Date.now();
      await reload(gw, config(up.url, [chat], "1s"));
      assert.equal(await refusedStatus(gw, "/feed/live"), 404);
      // During the grace the old tunnel still works.
      assert.equal(await roundTrip(removed, "grace"), "echo:grace");
      const [code, reason] = await closed;
      assert.equal(code, 1001);
      assert.equal(String(reason), "route removed");
      assert.ok(Date.now() - reloadedAt >= 900, "closed before the grace period ran out");
      await eventually(() => up.closes.includes(1001), "the upstream saw 1001");
      await eventually(() => gw.gateway.tunnelCount === 1, "only the kept tunnel is left");
      assert.equal(await roundTrip(kept, "still"), "echo:still");
      kept.close(1000);
      await once(kept, "close");
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("treats a route sent to another service as removed, and keeps tunnels whose route came back", async () => {
    const up = await startEchoUpstream();
    const other = await startEchoUpstream();
    const two = (routes: Route[]) =>
      testConfig({
        gateway: { reload: { webSocketGrace: "300ms" } },
        services: [
          { name: "svc", targets: [{ url: up.url }] },
          { name: "other", targets: [{ url: other.url }] },
        ],
        routes,
      });
    const gw = await startGateway(two([chat, feed]));
    try {
      const moved = await connect(gw, "/chat/room");
      const returning = await connect(gw, "/feed/live");
      const movedClosed = once(moved, "close");
      await reload(gw, two([{ ...chat, service: "other" }]));
      await reload(gw, two([{ ...chat, service: "other" }, feed]));
      const [code] = await movedClosed;
      assert.equal(code, 1001);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(returning.readyState, WebSocket.OPEN);
      assert.equal(await roundTrip(returning, "back"), "echo:back");
      returning.close(1000);
      await once(returning, "close");
    } finally {
      await gw.stop();
      await up.close();
      await other.close();
    }
  });

  it("lets a client's frame in flight finish before the upstream gets its close frame", async () => {
    const up = await startEchoUpstream();
    const gw = await startGateway(config(up.url, [chat, feed], "0ms"));
    try {
      const socket = await connect(gw, "/feed/live");
      const closed = once(socket, "close");
      socket.send("x".repeat(4_000_000));
      await reload(gw, config(up.url, [chat], "0ms"));
      const [code] = await closed;
      assert.equal(code, 1001);
      // A close frame inside the 4 MB frame would have been a protocol error (1002) there.
      await eventually(() => up.closes.length > 0, "the upstream saw the close");
      assert.deepEqual(up.closes, [1001]);
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("lets an upstream's frame in flight finish before the client gets its close frame", async () => {
    const up = await startRawUpstream();
    const gw = await startGateway(config(up.url, [chat, feed], "0ms"));
    try {
      const socket = await connect(gw, "/feed/live");
      const messages: string[] = [];
      socket.on("message", (data) => messages.push(String(data)));
      const closed = once(socket, "close");
      const upstream = await up.socket;
      // Half a 10-byte text frame, then the reload while the rest is still to come.
      upstream.write(Buffer.concat([Buffer.from([0x81, 10]), Buffer.from("hello")]));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const [toUpstream] = await Promise.all([
        once(upstream, "data").then(([chunk]) => chunk as Buffer),
        reload(gw, config(up.url, [chat], "0ms")),
      ]);
      // The upstream's side was at a frame boundary: its (masked) close frame came at once.
      assert.equal(toUpstream[0], 0x88);
      assert.ok(toUpstream[1]! & 0x80, "a frame to a server is masked");
      const mask = toUpstream.subarray(2, 6);
      const payload = toUpstream.subarray(6).map((byte, i) => byte ^ mask[i % 4]!);
      assert.equal((payload[0]! << 8) | payload[1]!, 1001);
      // The rest of the frame reaches the client before its close frame; what follows does not.
      upstream.write(
        Buffer.concat([Buffer.from("world"), Buffer.from([0x81, 4]), Buffer.from("late")]),
      );
      const [code] = await closed;
      assert.equal(code, 1001);
      assert.deepEqual(messages, ["helloworld"]);
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});
