/**
 * @module upstream/health/status-probe.test
 * The lean status probe against real servers on loopback: node:http ones, and raw TCP
 * ones that answer what an HTTP server would not.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { after, describe, test } from "node:test";
import { Target } from "../target.ts";
import { probeStatus, statusProbeHeaders } from "./status-probe.ts";

const servers: Server[] = [];
after(() => Promise.all(servers.map((server) => new Promise((done) => server.close(done)))));

async function listen(server: Server): Promise<Target> {
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return new Target({ url: `http://127.0.0.1:${port}`, weight: 1, connectTimeout: 1_000 });
}

/** A TCP server that runs `onSocket` for each connection. */
const raw = (onSocket: (socket: Socket) => void) => listen(createServer(onSocket));

const expected = new Set([200, 204]);
const headers = statusProbeHeaders("GET", "/health", { "user-agent": "gatehouse-health-check" })!;

function probe(target: Target, method = "GET", signal = new AbortController().signal) {
  const head = `${method} /health HTTP/1.1\r\nhost: ${target.authority}\r\n${statusProbeHeaders(method, "/health", {})}`;
  return probeStatus(target, "127.0.0.1", head, expected, signal);
}

describe("status probe", () => {
  test("passes on an expected status, fails on another, and sends a well-formed request", async () => {
    const seen: IncomingMessage[] = [];
    let status = 204;
    const target = await listen(
      createHttpServer((req, res) => {
        seen.push(req);
        res.statusCode = status;
        res.end();
      }),
    );
    assert.deepEqual(await probe(target), { ok: true, kind: "success", detail: "status 204" });
    status = 503;
    assert.deepEqual(await probe(target), {
      ok: false,
      kind: "server-error",
      detail: "status 503",
    });
    assert.equal(seen[0]!.headers.connection, "close", "a fresh connection per probe");
    assert.equal(seen[0]!.headers.host, target.authority);
  });

  test("POST carries an empty body", async () => {
    let body: string | undefined;
    const target = await listen(
      createHttpServer(async (req, res) => {
        body = "";
        for await (const chunk of req) body += chunk;
        res.end();
      }),
    );
    assert.equal((await probe(target, "POST")).ok, true);
    assert.equal(body, "");
  });

  test("an informational head is skipped for the final one, across chunks", async () => {
    const target = await raw((socket) => {
      socket.once("data", () => {
        socket.write("HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 2");
        setTimeout(() => socket.end("00 OK\r\ncontent-length: 0\r\n\r\n"), 20);
      });
    });
    assert.deepEqual(await probe(target), { ok: true, kind: "success", detail: "status 200" });
  });

  test("what is not an HTTP answer fails as a broken connection", async () => {
    const notHttp = await raw((socket) => socket.end("SSH-2.0-OpenSSH_9.2\r\n\r\n"));
    assert.deepEqual(await probe(notHttp), {
      ok: false,
      kind: "reset",
      detail: "not an HTTP response",
    });
    const closes = await raw((socket) => socket.once("data", () => socket.end()));
    assert.deepEqual(await probe(closes), { ok: false, kind: "reset", detail: "ECONNRESET" });
  });

  test("a refused connection is a connect failure", async () => {
    const target = await raw(() => {});
    await new Promise((done) => servers.pop()!.close(done));
    const result = await probe(target);
    assert.deepEqual(
      [result.ok, result.kind, result.detail],
      [false, "connect-failure", "ECONNREFUSED"],
    );
  });

  test("an abort settles the probe at once and closes its connection", async () => {
    let closed: Promise<unknown> | undefined;
    const target = await raw((socket) => {
      socket.resume();
      closed = once(socket, "close");
    });
    const controller = new AbortController();
    const result = probe(target, "GET", controller.signal);
    for (let i = 0; i < 400 && closed === undefined; i++)
      await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    assert.equal((await result).ok, false);
    await closed;
  });

  test("headers it cannot send as they are are left to node:http", () => {
    assert.match(headers, /^user-agent: gatehouse-health-check\r\nconnection: close\r\n\r\n$/);
    assert.equal(statusProbeHeaders("GET", "/health", { connection: "keep-alive" }), undefined);
    assert.equal(statusProbeHeaders("GET", "/health", { "x-a": "b\r\nx-smuggled: 1" }), undefined);
    assert.equal(statusProbeHeaders("GET", "/health", { "bad name": "x" }), undefined);
    assert.equal(statusProbeHeaders("GET", "/he alth", {}), undefined);
  });
});
