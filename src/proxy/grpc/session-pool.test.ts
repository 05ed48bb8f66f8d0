// HTTP/2 sessions to one target, against a real node:http2 server: streams share a
// session, a GOAWAY or a full session makes a new one, close lets open streams finish.
import assert from "node:assert/strict";
import {
  type ClientHttp2Stream,
  createServer,
  type Http2Server,
  type Http2Session,
  type ServerHttp2Stream,
} from "node:http2";
import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import { afterEach, describe, it } from "node:test";
import { until } from "../../../test/helpers/until.ts";
import { Http2SessionPool, SessionConnectError, SessionPoolClosedError } from "./session-pool.ts";

interface TestServer {
  url: string;
  /** Server-side sessions, in the order clients opened them. */
  sessions: Http2Session[];
  /** Streams to `/hold` wait here until the test answers them. */
  held: ServerHttp2Stream[];
  close(): Promise<void>;
}

/** Answers `/` with "ok" at once; holds `/hold` until the test ends it. */
async function startServer(maxConcurrentStreams?: number): Promise<TestServer> {
  const server: Http2Server = createServer(
    maxConcurrentStreams === undefined ? {} : { settings: { maxConcurrentStreams } },
  );
  const sessions: Http2Session[] = [];
  const held: ServerHttp2Stream[] = [];
  server.on("session", (session) => sessions.push(session));
  server.on("stream", (stream, headers) => {
    stream.resume();
    if (headers[":path"] === "/hold") held.push(stream);
    else stream.respond({ ":status": 200 }, { endStream: false });
    if (headers[":path"] !== "/hold") stream.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    sessions,
    held,
    close: () =>
      new Promise((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The response body of a stream, as text. */
async function text(stream: ClientHttp2Stream): Promise<string> {
  stream.end();
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

/** Resolves when `stream` has its response headers. */
const responded = (stream: ClientHttp2Stream) =>
  new Promise<void>((resolve) => stream.once("response", () => resolve()));

const get = (path = "/") => ({ ":method": "GET", ":path": path });
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function poolFor(url: string, options: { idleTimeout?: number; connectTimeout?: number } = {}) {
  const pool = new Http2SessionPool(url, {
    connectTimeout: options.connectTimeout ?? 1000,
    idleTimeout: options.idleTimeout ?? 10_000,
  });
  cleanup.push(() => pool.destroy());
  return pool;
}

async function server(maxConcurrentStreams?: number): Promise<TestServer> {
  const started = await startServer(maxConcurrentStreams);
  cleanup.push(() => started.close());
  return started;
}

describe("Http2SessionPool", () => {
  it("sends requests one after another over one session", async () => {
    const target = await server();
    const pool = poolFor(target.url);
    for (let i = 0; i < 3; i++) assert.equal(await text(await pool.request(get())), "ok");
    const concurrent = await Promise.all(
      [1, 2, 3].map(async () => text(await pool.request(get()))),
    );
    assert.deepEqual(concurrent, ["ok", "ok", "ok"]);
    assert.equal(target.sessions.length, 1);
    assert.equal(pool.sessions, 1);
  });

  it("opens a new session after the target sends GOAWAY", async () => {
    const target = await server();
    const pool = poolFor(target.url);
    assert.equal(await text(await pool.request(get())), "ok");
    target.sessions[0]!.goaway();
    await until(() => pool.sessions === 0, "the GOAWAY to reach the pool");
    assert.equal(await text(await pool.request(get())), "ok");
    assert.equal(target.sessions.length, 2);
  });

  it("opens a new session after the target drops the connection", async () => {
    const target = await server();
    const pool = poolFor(target.url);
    assert.equal(await text(await pool.request(get())), "ok");
    target.sessions[0]!.destroy();
    await until(() => pool.sessions === 0, "the pool to see the connection gone");
    assert.equal(await text(await pool.request(get())), "ok");
    assert.equal(target.sessions.length, 2);
  });

  it("opens a second session when the first has the peer's maximum of streams open", async () => {
    const target = await server(2);
    const pool = poolFor(target.url);
    const streams = await Promise.all([1, 2, 3].map(() => pool.request(get("/hold"))));
    for (const stream of streams) stream.end();
    await until(() => target.held.length === 3, "all three streams to reach the target at once");
    assert.equal(target.sessions.length, 2);
    assert.equal(pool.streams, 3);
    for (const held of target.held) held.respond({ ":status": 200 }, { endStream: true });
  });

  it("closes gracefully: an open stream finishes, and no new one is taken", async () => {
    const target = await server();
    const pool = poolFor(target.url);
    const stream = await pool.request(get("/hold"));
    stream.end();
    const body = text(stream);
    await until(() => target.held.length === 1, "the stream to reach the target");
    let closed = false;
    const closing = pool.close().then(() => {
      closed = true;
    });
    await assert.rejects(pool.request(get()), SessionPoolClosedError);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(closed, false, "close waits for the open stream");
    const answer = responded(stream);
    target.held[0]!.respond({ ":status": 200 });
    target.held[0]!.end("late");
    await answer;
    assert.equal(await body, "late");
    await closing;
    assert.equal(pool.sessions, 0);
  });

  it("destroy aborts open streams at once", async () => {
    const target = await server();
    const pool = poolFor(target.url);
    const stream = await pool.request(get("/hold"));
    const ended = new Promise<void>((resolve) => stream.once("close", () => resolve()));
    await pool.destroy();
    await ended;
    assert.equal(stream.destroyed, true);
  });

  it("closes a session left idle", async () => {
    const target = await server();
    const pool = poolFor(target.url, { idleTimeout: 50 });
    assert.equal(await text(await pool.request(get())), "ok");
    await new Promise<void>((resolve) => target.sessions[0]!.once("close", () => resolve()));
    assert.equal(pool.sessions, 0);
    assert.equal(target.sessions.length, 1);
    assert.equal(await text(await pool.request(get())), "ok", "a later request connects again");
  });

  it("fails with a connect failure when the target refuses the connection", async () => {
    const target = await startServer();
    await target.close();
    const pool = poolFor(target.url);
    await assert.rejects(pool.request(get()), (error: SessionConnectError) => {
      assert.ok(error instanceof SessionConnectError);
      assert.equal(error.kind, "connect-failure");
      assert.equal(error.code, "ECONNREFUSED");
      return true;
    });
  });

  it("fails with a timeout when the target accepts but never speaks HTTP/2", async () => {
    const sockets: Socket[] = [];
    const silent: Server = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    cleanup.push(
      () =>
        new Promise((resolve) => {
          for (const socket of sockets) socket.destroy();
          silent.close(() => resolve());
        }),
    );
    const { port } = silent.address() as { port: number };
    const pool = poolFor(`http://127.0.0.1:${port}`, { connectTimeout: 100 });
    const started = Date.now();
    await assert.rejects(pool.request(get()), { name: "SessionConnectError", kind: "timeout" });
    assert.ok(Date.now() - started < 1000);
  });
});
