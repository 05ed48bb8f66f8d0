// Slow clients: headers trickled past requestHeadersTimeout are cut at that bound (not up
// to twice it), a request body that stalls past requestBodyIdleTimeout or trickles past
// requestBodyTimeout is answered 408 and its upstream request aborted, and an upload that
// keeps coming (or that the gateway itself holds back) is not cut.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { type ParsedResponse, RawConnection } from "../helpers/raw-connection.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const headersTimeout = 2000;
const bodyIdleTimeout = 1000;
const bodyTimeout = 3000;
/** How late a cut may come: checks every 100 ms (a tenth of the shortest timeout), and a busy machine. */
const margin = 800;

/** What the upstream saw of one request. */
interface Seen {
  url: string;
  bytes: number;
  /** The request ended before its whole body arrived (the gateway aborted it). */
  aborted: boolean;
  complete: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes `body` one byte every `everyMs` (stops quietly if the gateway closes). */
async function trickle(connection: RawConnection, body: string, everyMs: number): Promise<void> {
  for (const byte of body) {
    if (connection.closed) return;
    await connection.write(byte).catch(() => {});
    await sleep(everyMs);
  }
}

function assertTimeoutAnswer(response: ParsedResponse): void {
  assert.equal(response.status, 408);
  assert.equal(response.headers.connection, "close");
  const body = JSON.parse(response.body) as { error: { code: string; requestId: string } };
  assert.equal(body.error.code, "GATEHOUSE_REQUEST_TIMEOUT");
  assert.equal(body.error.requestId, response.headers["x-request-id"]);
}

describe("slow clients", () => {
  let up: Upstream;
  let gw: RunningGateway;
  const seen = new Map<string, Seen>();
  /** Requests to /held are not read until this resolves. */
  let releaseHeld!: () => void;
  const held = new Promise<void>((resolve) => {
    releaseHeld = resolve;
  });

  before(async () => {
    up = await startUpstream(async (req: IncomingMessage, res) => {
      const entry: Seen = { url: req.url!, bytes: 0, aborted: false, complete: false };
      seen.set(req.url!, entry);
      req.on("error", () => {});
      req.on("close", () => {
        entry.aborted = !req.complete;
      });
      if (req.url === "/held") await held;
      req.on("data", (chunk: Buffer) => {
        entry.bytes += chunk.length;
      });
      req.on("end", () => {
        entry.complete = true;
        res.end(`got ${entry.bytes}`);
      });
    });
    gw = await startGateway(
      testConfig({
        gateway: {
          limits: {
            requestHeadersTimeout: `${headersTimeout}ms`,
            requestBodyIdleTimeout: `${bodyIdleTimeout}ms`,
            requestBodyTimeout: `${bodyTimeout}ms`,
          },
        },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
      }),
    );
  });
  after(async () => {
    releaseHeld();
    await gw?.stop();
    await up?.close();
  });

  it("cuts headers trickled past requestHeadersTimeout at that bound", async () => {
    const started = Date.now();
    const connection = await RawConnection.open(gw.port);
    try {
      await connection.write("GET /trickled-headers HTTP/1.1\r\nHost: a\r\nX-Slow: ");
      // A byte every 200 ms: never idle, never done.
      void trickle(connection, "x".repeat(100), 200);
      const response = await connection.readResponse(headersTimeout + margin + 500);
      const elapsed = Date.now() - started;
      assertTimeoutAnswer(response);
      assert.ok(elapsed >= headersTimeout - 50, `cut after ${elapsed} ms, before the bound`);
      assert.ok(elapsed <= headersTimeout + margin, `cut after ${elapsed} ms, long past the bound`);
      assert.equal(await connection.waitClosed(), true);
    } finally {
      connection.destroy();
    }
    assert.equal(seen.has("/trickled-headers"), false, "nothing went upstream");
  });

  /** Sends `head` and `first`, then nothing: the 408 must come within the idle bound. */
  async function assertStallCut(head: string, first: string, upstreamSaw: () => boolean) {
    const connection = await RawConnection.open(gw.port);
    try {
      await connection.write(head + first);
      await until(upstreamSaw, "the first bytes to arrive");
      const stalledAt = Date.now();
      const response = await connection.readResponse(bodyIdleTimeout + margin + 500);
      const elapsed = Date.now() - stalledAt;
      assertTimeoutAnswer(response);
      assert.ok(elapsed <= bodyIdleTimeout + margin, `cut ${elapsed} ms after the last byte`);
      assert.equal(await connection.waitClosed(), true);
    } finally {
      connection.destroy();
    }
  }

  it("answers 408 when a body stalls past requestBodyIdleTimeout, and aborts the upstream request", async () => {
    await assertStallCut(
      "POST /stalled HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
      "a\r\n0123456789\r\n",
      () => seen.get("/stalled")?.bytes === 10,
    );
    await until(() => seen.get("/stalled")!.aborted, "the upstream to see the abort", 2000);
    assert.equal(seen.get("/stalled")!.complete, false);
  });

  it("answers 408 when a body kept for retries stalls, before anything goes upstream", async () => {
    const started = Date.now();
    // A small Content-Length body is read whole first, so a retry could send it again.
    await assertStallCut(
      "POST /stalled-small HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n",
      "0123456789",
      () => Date.now() - started > 50,
    );
    assert.equal(seen.has("/stalled-small"), false, "nothing went upstream");
  });

  it("answers 408 when a client that asked for 100 Continue stalls after it", async () => {
    const connection = await RawConnection.open(gw.port);
    try {
      await connection.write(
        "POST /expecting HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n",
      );
      assert.equal((await connection.readResponse()).status, 100);
      await connection.write("0123456789");
      const stalledAt = Date.now();
      const response = await connection.readResponse(bodyIdleTimeout + margin + 500);
      assertTimeoutAnswer(response);
      const elapsed = Date.now() - stalledAt;
      assert.ok(elapsed <= bodyIdleTimeout + margin, `cut ${elapsed} ms after the last byte`);
    } finally {
      connection.destroy();
    }
  });

  it("answers 408 when a body keeps trickling past requestBodyTimeout, and aborts the upstream request", async () => {
    const connection = await RawConnection.open(gw.port);
    try {
      await connection.write(
        "POST /trickled-body HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
      );
      const headersAt = Date.now();
      // One byte (a chunk of its own) every 300 ms: under the idle timeout, never finished.
      void (async () => {
        for (let i = 0; i < 100 && !connection.closed; i++) {
          await connection.write("1\r\nx\r\n").catch(() => {});
          await sleep(300);
        }
      })();
      const response = await connection.readResponse(bodyTimeout + margin + 500);
      const elapsed = Date.now() - headersAt;
      assertTimeoutAnswer(response);
      assert.ok(elapsed >= bodyTimeout - 50, `cut after ${elapsed} ms, before the bound`);
      assert.ok(elapsed <= bodyTimeout + margin, `cut after ${elapsed} ms, long past the bound`);
    } finally {
      connection.destroy();
    }
    await until(() => seen.get("/trickled-body")!.aborted, "the upstream to see the abort", 2000);
    assert.ok(seen.get("/trickled-body")!.bytes > 0, "the body was streaming upstream");
  });

  it("lets a slow upload that keeps coming finish, past the idle timeout many times over", async () => {
    const connection = await RawConnection.open(gw.port);
    try {
      const body = "abcdefghij";
      await connection.write(
        `POST /steady HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      // 10 bytes over 2.5 s: each pause under the idle timeout, the whole under the body timeout.
      await trickle(connection, body, 250);
      const response = await connection.readResponse(2000);
      assert.equal(response.status, 200);
      assert.equal(response.body, "got 10");
    } finally {
      connection.destroy();
    }
  });

  it("does not count the time the upstream holds the body back as the client's pause", async () => {
    // 8 MB sent at once to an upstream that reads none of it for twice the idle timeout:
    // the gateway stops reading from the client, which is not the client stalling.
    const size = 8 * 1024 * 1024;
    const answer = request(`${gw.url}/held`, {
      method: "POST",
      body: Buffer.alloc(size, 120),
      headers: { "content-type": "application/octet-stream" },
    });
    await until(() => seen.has("/held"), "the upstream to get the request");
    await sleep(bodyIdleTimeout * 2);
    releaseHeld();
    const res = await answer;
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), `got ${size}`);
  });

  it("counts each cut by timeout", async () => {
    const metrics = await (await request(`${gw.statusUrl}/metrics`)).body.text();
    const count = (pattern: RegExp) => Number(pattern.exec(metrics)?.[1]);
    assert.equal(count(/^gatehouse_client_timeouts_total\{timeout="headers"\} (\d+)$/m), 1);
    assert.equal(count(/^gatehouse_client_timeouts_total\{timeout="body_idle"\} (\d+)$/m), 3);
    assert.equal(count(/^gatehouse_client_timeouts_total\{timeout="body"\} (\d+)$/m), 1);
    assert.equal(
      count(
        /^gatehouse_errors_total\{route="all",service="svc",code="GATEHOUSE_REQUEST_TIMEOUT"\} (\d+)$/m,
      ),
      4,
    );
  });
});
