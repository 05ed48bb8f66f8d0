// Graceful shutdown and the status listener, over real sockets.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { request } from "undici";
import { WebSocket, WebSocketServer } from "ws";
import { startSimpleGateway } from "../helpers/gateway.ts";
import { startUpstream } from "../helpers/upstream.ts";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

describe("status listener", () => {
  it("reports liveness, readiness and upstream state as JSON", async () => {
    const up = await startUpstream();
    const gw = await startSimpleGateway([up.url]);
    try {
      const health = await request(`${gw.statusUrl}/health`);
      assert.equal(health.statusCode, 200);
      assert.deepEqual(await health.body.json(), { status: "ok" });
      const ready = await request(`${gw.statusUrl}/ready`);
      assert.equal(ready.statusCode, 200);
      assert.deepEqual(await ready.body.json(), { status: "ready" });
      assert.equal((await request(`${gw.statusUrl}/nope`)).statusCode, 404);
      const upstreams = (await (await request(`${gw.statusUrl}/upstreams`)).body.json()) as {
        services: { name: string; available: number; targets: Record<string, unknown>[] }[];
      };
      assert.equal(upstreams.services.length, 1);
      assert.equal(upstreams.services[0]!.name, "svc");
      assert.equal(upstreams.services[0]!.available, 1);
      assert.deepEqual(
        { ...upstreams.services[0]!.targets[0], latencyMs: 0 },
        {
          url: up.url,
          weight: 1,
          available: true,
          health: "healthy",
          ejected: false,
          ejectedForMs: 0,
          ejections: 0,
          breaker: "none",
          inFlight: 0,
          latencyMs: 0,
        },
      );
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});

describe("graceful shutdown", () => {
  it("stops accepting, finishes in-flight requests with Connection: close, and reports not ready", async () => {
    const arrived = deferred();
    const release = deferred();
    const up = await startUpstream(async (_req, res) => {
      arrived.resolve();
      await release.promise;
      res.end("finished");
    });
    const gw = await startSimpleGateway([up.url], {}, { shutdownTimeout: "5s" });
    try {
      const inFlight = request(`${gw.url}/work`);
      await arrived.promise;
      const stopped = gw.stop();
      // Draining: not ready, and no new connections.
      const ready = await request(`${gw.statusUrl}/ready`);
      assert.equal(ready.statusCode, 503);
      await ready.body.dump();
      await assert.rejects(
        new Promise((resolve, reject) => {
          const socket = connect(gw.port, "127.0.0.1", () => resolve(socket));
          socket.on("error", reject);
        }),
        /ECONNREFUSED/,
      );
      release.resolve();
      const res = await inFlight;
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers.connection, "close");
      assert.equal(await res.body.text(), "finished");
      await stopped;
    } finally {
      release.resolve();
      await gw.stop();
      await up.close();
    }
  });

  it("closes idle keep-alive connections at once", async () => {
    const up = await startUpstream((_req, res) => res.end("ok"));
    const gw = await startSimpleGateway([up.url], {}, { shutdownTimeout: "10s" });
    try {
      const socket = connect(gw.port, "127.0.0.1");
      await once(socket, "connect");
      socket.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      await once(socket, "data");
      const closed = once(socket, "close");
      const started = Date.now();
      await gw.stop();
      await closed;
      assert.ok(Date.now() - started < 2000, "an idle connection does not wait for the deadline");
    } finally {
      await up.close();
    }
  });

  it("closes a connection that has not sent a request yet at once", async () => {
    // Clients open spare connections ahead of need (undici does while a request waits);
    // Node treats such a connection as busy, so it used to hold stop up to the deadline.
    const up = await startUpstream((_req, res) => res.end("ok"));
    const gw = await startSimpleGateway([up.url], {}, { shutdownTimeout: "10s" });
    try {
      const socket = connect(gw.port, "127.0.0.1");
      await once(socket, "connect");
      const closed = once(socket, "close");
      const started = Date.now();
      await gw.stop();
      await closed;
      assert.ok(Date.now() - started < 2000, "a silent connection does not wait for the deadline");
    } finally {
      await up.close();
    }
  });

  it("cuts requests and tunnels still open at the deadline", async () => {
    const up = await startUpstream(() => {
      // never answers
    });
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await once(wss, "listening");
    const wsPort = (wss.address() as { port: number }).port;
    const gw = await startSimpleGateway([up.url], {}, { shutdownTimeout: "300ms" });
    const gwWs = await startSimpleGateway(
      [`http://127.0.0.1:${wsPort}`],
      {},
      { shutdownTimeout: "300ms" },
    );
    try {
      const hanging = request(`${gw.url}/forever`).then(
        () => "answered",
        () => "cut",
      );
      const client = new WebSocket(`ws://127.0.0.1:${gwWs.port}/`);
      await once(client, "open");
      const clientClosed = once(client, "close");
      const started = Date.now();
      await Promise.all([gw.stop(), gwWs.stop()]);
      assert.ok(Date.now() - started < 2000);
      assert.equal(await hanging, "cut");
      await clientClosed;
    } finally {
      await up.close();
      wss.close();
    }
  });
});
