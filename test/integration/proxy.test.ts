// HTTP proxying over real sockets: streaming, special statuses, 100-continue, trailers,
// timeouts, upstream failures and aborts in both directions.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer as createTcpServer, type Socket } from "node:net";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { request } from "undici";
import { startSimpleGateway } from "../helpers/gateway.ts";
import { rawRequest } from "../helpers/raw.ts";
import { echo, startUpstream } from "../helpers/upstream.ts";

type ErrorJson = { error: { code: string; requestId: string } };

describe("streaming", () => {
  it("delivers each response chunk as it arrives (SSE is not buffered)", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const up = await startUpstream(async (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: first\n\n");
      await released;
      res.end("data: last\n\n");
    });
    const gw = await startSimpleGateway([up.url]);
    try {
      const res = await request(`${gw.url}/events`);
      assert.equal(res.headers["content-type"], "text/event-stream");
      const iterator = res.body[Symbol.asyncIterator]();
      const first = await iterator.next();
      assert.equal(Buffer.from(first.value).toString(), "data: first\n\n");
      release();
      let rest = "";
      for (let next = await iterator.next(); !next.done; next = await iterator.next())
        rest += Buffer.from(next.value);
      assert.equal(rest, "data: last\n\n");
    } finally {
      release();
      await gw.stop();
      await up.close();
    }
  });

  it("streams the request body to the upstream before the client has finished sending", async () => {
    let sawFirstChunk!: () => void;
    const firstChunk = new Promise<void>((resolve) => {
      sawFirstChunk = resolve;
    });
    const up = await startUpstream((req, res) => {
      let size = 0;
      req.on("data", (chunk: Buffer) => {
        size += chunk.length;
        sawFirstChunk();
      });
      req.on("end", () => res.end(String(size)));
    });
    const gw = await startSimpleGateway([up.url]);
    try {
      const chunks: Buffer[] = [Buffer.alloc(1000, 1)];
      let resolveSecond!: () => void;
      const second = new Promise<void>((resolve) => {
        resolveSecond = resolve;
      });
      async function* generate() {
        yield chunks[0]!;
        await second;
        yield Buffer.alloc(500, 2);
      }
      const pending = request(`${gw.url}/upload`, {
        method: "POST",
        body: Readable.from(generate()),
      });
      await firstChunk; // the upstream saw data while the client still holds the rest back
      resolveSecond();
      const res = await pending;
      assert.equal(await res.body.text(), "1500");
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("passes 1 GiB up and 1 GiB down with flat memory", async () => {
    const GiB = 1024 ** 3;
    const block = Buffer.alloc(256 * 1024, 7);
    const up = await startUpstream((req, res) => {
      if (req.method === "POST") return echo(req, res);
      res.writeHead(200, { "content-length": String(GiB) });
      let sent = 0;
      const pump = () => {
        while (sent < GiB) {
          sent += block.length;
          if (!res.write(block)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
    });
    const gw = await startSimpleGateway([up.url], {}, { limits: { maxBodySize: 0 } });
    try {
      const before = process.memoryUsage().rss;
      let peak = before;
      const sample = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 50);
      async function* upload() {
        for (let sent = 0; sent < GiB; sent += block.length) yield block;
      }
      const posted = await request(`${gw.url}/up`, {
        method: "POST",
        body: Readable.from(upload()),
        headers: { "content-length": String(GiB) },
      });
      assert.equal(((await posted.body.json()) as { bodySize: number }).bodySize, GiB);
      const res = await request(`${gw.url}/down`);
      let received = 0;
      for await (const chunk of res.body) received += (chunk as Buffer).length;
      clearInterval(sample);
      assert.equal(received, GiB);
      // Client, gateway and upstream share this process; buffering either GiB would show here.
      assert.ok(
        peak - before < 200 * 1024 ** 2,
        `memory grew by ${Math.round((peak - before) / 1024 ** 2)} MiB`,
      );
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});

describe("special responses", () => {
  it("answers HEAD, 204 and 304 without a body and keeps the connection usable", async () => {
    const up = await startUpstream((req, res) => {
      if (req.url === "/nocontent") return void res.writeHead(204).end();
      if (req.url === "/notmodified") return void res.writeHead(304, { etag: '"v1"' }).end();
      res.writeHead(200, { "content-length": "11", "content-type": "text/plain" });
      res.end(req.method === "HEAD" ? undefined : "hello world");
    });
    const gw = await startSimpleGateway([up.url]);
    try {
      const raw = await rawRequest(
        gw.port,
        "HEAD /file HTTP/1.1\r\nHost: a\r\n\r\n" +
          "GET /nocontent HTTP/1.1\r\nHost: a\r\n\r\n" +
          "GET /notmodified HTTP/1.1\r\nHost: a\r\n\r\n" +
          "GET /file HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
      );
      const statuses = [...raw.text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((m) => Number(m[1]));
      assert.deepEqual(statuses, [200, 204, 304, 200]);
      assert.match(raw.text, /content-length: 11/i);
      assert.ok(raw.text.endsWith("\r\n\r\nhello world"), "only the final GET carries a body");
      assert.doesNotMatch(raw.text, /transfer-encoding/i);
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("forwards response trailers", async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { trailer: "x-checksum", "content-type": "text/plain" });
      res.write("body");
      res.addTrailers({ "x-checksum": "abc123" });
      res.end();
    });
    const gw = await startSimpleGateway([up.url]);
    try {
      const raw = await rawRequest(
        gw.port,
        "GET / HTTP/1.1\r\nHost: a\r\nTE: trailers\r\nConnection: close\r\n\r\n",
      );
      assert.equal(raw.status, 200);
      assert.match(raw.body, /0\r\nx-checksum: abc123\r\n\r\n$/i);
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});

describe("Expect: 100-continue", () => {
  it("sends 100 Continue only once the request is accepted, then forwards the body", async () => {
    const up = await startUpstream();
    const gw = await startSimpleGateway([up.url], {}, { limits: { maxBodySize: 100 } });
    try {
      const socket = await connected(gw.port);
      socket.write(
        "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
      );
      const interim = (await once(socket, "data"))[0].toString();
      assert.match(interim, /^HTTP\/1\.1 100 Continue\r\n/);
      socket.write("hello");
      const rest = await readAll(socket);
      assert.match(rest, /^HTTP\/1\.1 200/);
      assert.match(rest, /"bodySize":5/);
      assert.equal(up.requests[0]!.headers.expect, undefined, "Expect is not forwarded");

      const refused = await rawRequest(
        gw.port,
        "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 500\r\nExpect: 100-continue\r\n\r\n",
      );
      assert.equal(refused.status, 413);
      assert.doesNotMatch(refused.text, /100 Continue/);
      assert.equal((JSON.parse(refused.body) as ErrorJson).error.code, "GATEHOUSE_BODY_TOO_LARGE");
      assert.ok(refused.closed);
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});

describe("upstream failures", () => {
  it("answers 502 GATEHOUSE_UPSTREAM_CONNECT_FAILED when nothing listens", async () => {
    const up = await startUpstream();
    const url = up.url;
    await up.close();
    const gw = await startSimpleGateway([url]);
    try {
      const res = await request(`${gw.url}/`);
      assert.equal(res.statusCode, 502);
      const body = (await res.body.json()) as ErrorJson;
      assert.equal(body.error.code, "GATEHOUSE_UPSTREAM_CONNECT_FAILED");
      assert.equal(body.error.requestId, res.headers["x-request-id"]);
    } finally {
      await gw.stop();
    }
  });

  it("answers 503 GATEHOUSE_NO_AVAILABLE_TARGET when no target is available", async () => {
    const up = await startUpstream();
    const gw = await startSimpleGateway([up.url]);
    try {
      for (const target of gw.gateway.runtime.services.get("svc")!.targets)
        target.health = "unhealthy";
      const res = await request(`${gw.url}/`);
      assert.equal(res.statusCode, 503);
      assert.equal(
        ((await res.body.json()) as ErrorJson).error.code,
        "GATEHOUSE_NO_AVAILABLE_TARGET",
      );
      assert.equal(up.requests.length, 0);
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("answers 504 when the connection is not established within timeouts.connect", async () => {
    // A TCP server that never speaks: the TLS handshake (part of connecting) cannot finish.
    const silent = createTcpServer((socket) => socket.on("error", () => {}));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    const gw = await startSimpleGateway(
      [`https://127.0.0.1:${port}`],
      {},
      {},
      { timeouts: { connect: "200ms" } },
    );
    try {
      const res = await request(`${gw.url}/`);
      assert.equal(res.statusCode, 504);
      assert.equal(((await res.body.json()) as ErrorJson).error.code, "GATEHOUSE_UPSTREAM_TIMEOUT");
    } finally {
      await gw.stop();
      silent.close();
    }
  });

  it("answers 504 when response headers take longer than timeouts.response", async () => {
    const up = await startUpstream(() => {
      // never answers
    });
    const gw = await startSimpleGateway([up.url], {}, {}, { timeouts: { response: "200ms" } });
    try {
      const res = await request(`${gw.url}/slow`);
      assert.equal(res.statusCode, 504);
      assert.equal(((await res.body.json()) as ErrorJson).error.code, "GATEHOUSE_UPSTREAM_TIMEOUT");
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("answers 504 when the whole exchange exceeds timeouts.total", async () => {
    const up = await startUpstream(() => {});
    const gw = await startSimpleGateway(
      [up.url],
      {},
      {},
      { timeouts: { total: "150ms", response: "10s" } },
    );
    try {
      const res = await request(`${gw.url}/slow`);
      assert.equal(res.statusCode, 504);
      assert.equal(((await res.body.json()) as ErrorJson).error.code, "GATEHOUSE_UPSTREAM_TIMEOUT");
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("destroys the client connection when the body stalls past timeouts.idle", async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial");
    });
    const gw = await startSimpleGateway([up.url], {}, {}, { timeouts: { idle: "200ms" } });
    try {
      const raw = await rawRequest(gw.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 3000);
      assert.equal(raw.status, 200);
      assert.equal(raw.body, "partial");
      assert.ok(raw.closed, "the client sees the connection close, not a hang");
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("destroys the client connection when the upstream dies mid-body", async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-length": "1000" });
      res.write("some", () => res.socket?.destroy());
    });
    const gw = await startSimpleGateway([up.url]);
    try {
      const raw = await rawRequest(gw.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 3000);
      assert.equal(raw.status, 200);
      assert.ok(raw.closed);
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  for (const [name, head] of [
    [
      "both Content-Length and Transfer-Encoding",
      "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    ],
    ["two different Content-Lengths", "Content-Length: 5\r\nContent-Length: 6\r\n"],
    ["an invalid Content-Length", "Content-Length: 5x\r\n"],
    ["a NUL in a header value", "X-Bad: a\0b\r\nContent-Length: 5\r\n"],
  ] as const) {
    it(`answers 502 for an upstream response with ${name}, and drops that connection`, async () => {
      let upstreamSocketClosed!: () => void;
      const closed = new Promise<void>((resolve) => {
        upstreamSocketClosed = resolve;
      });
      const bad = createTcpServer((socket) => {
        socket.once("data", () => socket.write(`HTTP/1.1 200 OK\r\n${head}\r\nhello`));
        socket.on("close", upstreamSocketClosed);
        socket.on("error", () => {});
      });
      await new Promise<void>((resolve) => bad.listen(0, "127.0.0.1", resolve));
      const port = (bad.address() as { port: number }).port;
      const gw = await startSimpleGateway([`http://127.0.0.1:${port}`]);
      try {
        const res = await request(`${gw.url}/`);
        assert.equal(res.statusCode, 502);
        assert.equal(
          ((await res.body.json()) as ErrorJson).error.code,
          "GATEHOUSE_UPSTREAM_BAD_RESPONSE",
        );
        await closed; // the gateway does not keep the connection for reuse
      } finally {
        await gw.stop();
        bad.close();
      }
    });
  }
});

describe("aborts", () => {
  it("cancels the upstream request when the client goes away", async () => {
    let upstreamSawClose!: () => void;
    const sawClose = new Promise<void>((resolve) => {
      upstreamSawClose = resolve;
    });
    let arrived!: () => void;
    const requestArrived = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const up = await startUpstream((_req, res) => {
      res.on("close", upstreamSawClose);
      arrived();
    });
    const gw = await startSimpleGateway([up.url]);
    try {
      const socket = await connected(gw.port);
      socket.write("GET /long HTTP/1.1\r\nHost: a\r\n\r\n");
      await requestArrived;
      socket.destroy();
      await sawClose;
    } finally {
      await gw.stop();
      await up.close();
    }
  });

  it("reuses upstream keep-alive connections", async () => {
    const up = await startUpstream((req, res) => res.end(String(req.socket.remotePort)));
    const gw = await startSimpleGateway([up.url]);
    try {
      const first = await (await request(`${gw.url}/1`)).body.text();
      const second = await (await request(`${gw.url}/2`)).body.text();
      assert.equal(first, second);
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});

function connected(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
    });
    socket.on("close", () => resolve(text));
  });
}
