// Edge framing over raw sockets: ambiguous lengths, bad headers, limits and smuggling
// attempts are refused with the catalogued status, and never reach the upstream.
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { RawConnection } from "../helpers/raw-connection.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const limits = {
  maxHeaderCount: 20,
  maxHeaderSize: 4096,
  maxUriLength: 256,
  maxBodySize: 1000,
};

/** What the upstream saw of one request. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  /** True once the whole body arrived; false while streaming or after an abort. */
  complete: boolean;
}

describe("framing", () => {
  let up: Upstream;
  let gw: RunningGateway;
  const seen: Seen[] = [];

  before(async () => {
    up = await startUpstream((req: IncomingMessage, res: ServerResponse) => {
      const entry: Seen = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: "",
        complete: false,
      };
      seen.push(entry);
      req.setEncoding("latin1");
      req.on("data", (chunk: string) => {
        entry.body += chunk;
      });
      req.on("error", () => {});
      req.on("end", () => {
        entry.complete = true;
        const body = JSON.stringify({ url: req.url, bodySize: entry.body.length });
        res.writeHead(200, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
        });
        res.end(body);
      });
    });
    gw = await startGateway(
      testConfig({
        gateway: { limits },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          { name: "shop", match: { hosts: ["shop.example.com"], paths: ["/*"] }, service: "svc" },
          { name: "get-only", match: { paths: ["/get-only"], methods: ["GET"] }, service: "svc" },
          {
            name: "all",
            match: { paths: ["/*"], methods: ["GET", "POST", "PUT", "DELETE"] },
            service: "svc",
          },
        ],
      }),
    );
  });
  after(async () => {
    await gw?.stop();
    await up?.close();
  });

  /** Sends `request` on a fresh connection and returns the first response and the connection. */
  async function exchange(request: string) {
    const connection = await RawConnection.open(gw.port);
    await connection.write(request);
    const response = await connection.readResponse();
    return { connection, response };
  }

  /**
   * Proves nothing more reached the upstream than what `expected` lists: a request sent
   * after the one under test is answered, and the upstream's log since `mark` holds only it.
   */
  async function assertUpstreamSawOnly(mark: number, expected: string[] = []): Promise<void> {
    const barrier = `/barrier-${mark}-${Math.random().toString(36).slice(2)}`;
    const res = await fetch(`${gw.url}${barrier}`);
    assert.equal(res.status, 200);
    await res.text();
    assert.deepEqual(
      seen.slice(mark).map((entry) => entry.url),
      [...expected, barrier],
    );
  }

  /** The request must be answered with `status`/`code`, the connection closed, the upstream untouched. */
  async function assertRejected(
    request: string,
    status: number,
    code: string,
    options: { mustClose?: boolean } = {},
  ): Promise<void> {
    const mark = seen.length;
    const { connection, response } = await exchange(request);
    try {
      assert.equal(response.status, status, `status for ${JSON.stringify(request.slice(0, 80))}`);
      const body = JSON.parse(response.body) as {
        error: { code: string; message: string; requestId: string };
      };
      assert.equal(body.error.code, code);
      assert.equal(typeof body.error.message, "string");
      assert.equal(body.error.requestId, response.headers["x-request-id"]);
      if (options.mustClose ?? true) {
        assert.equal(response.headers.connection, "close");
        assert.equal(await connection.waitClosed(), true, "connection must be closed");
      }
    } finally {
      connection.destroy();
    }
    await assertUpstreamSawOnly(mark);
  }

  describe("Content-Length and Transfer-Encoding", () => {
    it("refuses Content-Length together with Transfer-Encoding", async () => {
      await assertRejected(
        "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        "GATEHOUSE_BAD_FRAMING",
      );
      await assertRejected(
        "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        400,
        "GATEHOUSE_BAD_FRAMING",
      );
    });

    it("refuses Transfer-Encoding on HTTP/1.0", async () => {
      await assertRejected(
        "POST /x HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        400,
        "GATEHOUSE_BAD_FRAMING",
      );
    });

    for (const [label, header] of [
      ["an unknown coding", "Transfer-Encoding: xchunked"],
      ["a coding before chunked", "Transfer-Encoding: gzip, chunked"],
      ["a coding after chunked", "Transfer-Encoding: chunked, identity"],
      ["a space before the colon", "Transfer-Encoding : chunked"],
      ["a repeated header", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"],
      ["a second, bogus header", "Transfer-Encoding: chunked\r\nTransfer-encoding: cow"],
      ["a tab-obfuscated value", "Transfer-Encoding:\tchunked\u000b"],
    ] as const) {
      it(`refuses Transfer-Encoding with ${label}`, async () => {
        await assertRejected(
          `POST /x HTTP/1.1\r\nHost: a\r\n${header}\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
          400,
          "GATEHOUSE_BAD_FRAMING",
        );
      });
    }

    it("refuses a repeated Content-Length, with the same or different values", async () => {
      await assertRejected(
        "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        400,
        "GATEHOUSE_BAD_FRAMING",
      );
      await assertRejected(
        "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        400,
        "GATEHOUSE_BAD_FRAMING",
      );
      await assertRejected(
        "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc",
        400,
        "GATEHOUSE_BAD_FRAMING",
      );
    });

    for (const value of ["+3", "3 3", "abc", "-1", "0x3", "3.0", ""]) {
      it(`refuses Content-Length: ${JSON.stringify(value)}`, async () => {
        await assertRejected(
          `POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: ${value}\r\n\r\nabc`,
          400,
          "GATEHOUSE_BAD_FRAMING",
        );
      });
    }
  });

  describe("Host and request target", () => {
    it("refuses CONNECT: the gateway is not a forward proxy", async () => {
      await assertRejected(
        "CONNECT internal.example:443 HTTP/1.1\r\nHost: internal.example:443\r\n\r\n",
        405,
        "GATEHOUSE_METHOD_NOT_ALLOWED",
      );
    });

    it("refuses a repeated Host", async () => {
      await assertRejected(
        "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        400,
        "GATEHOUSE_BAD_HOST",
      );
    });

    for (const host of [
      "evil.example/x?y",
      "a b",
      "user@a.example",
      "a\\b",
      "[::1",
      "a:b:c",
      'x"y',
      "a.example:80x",
    ]) {
      it(`refuses the Host value ${JSON.stringify(host)}`, async () => {
        await assertRejected(`GET /x HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 400, "GATEHOUSE_BAD_HOST");
      });
    }

    it("accepts host names, IP addresses and ports as Host", async () => {
      for (const host of [
        "a-b_c.example:8080",
        "shop.example.com.",
        "127.0.0.1",
        "[::1]:80",
        "[::1]",
        "a:",
      ]) {
        const { connection, response } = await exchange(
          `GET /host HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
        );
        connection.destroy();
        assert.equal(response.status, 200, host);
      }
    });

    it("refuses HTTP/1.1 without Host", async () => {
      await assertRejected("GET /x HTTP/1.1\r\n\r\n", 400, "GATEHOUSE_BAD_HOST");
    });

    it("serves HTTP/1.0 without Host", async () => {
      const mark = seen.length;
      const { connection, response } = await exchange("GET /old HTTP/1.0\r\n\r\n");
      connection.destroy();
      assert.equal(response.status, 200);
      assert.deepEqual(
        seen.slice(mark).map((entry) => entry.url),
        ["/old"],
      );
    });

    it("refuses an absolute-form target whose authority is not served here", async () => {
      await assertRejected(
        "GET http://evil.example/x HTTP/1.1\r\nHost: shop.example.com\r\n\r\n",
        400,
        "GATEHOUSE_BAD_HOST",
      );
    });

    it("serves an absolute-form target for a route host, routed by its authority", async () => {
      const mark = seen.length;
      const { connection, response } = await exchange(
        "GET http://Shop.Example.com:8080/abs?q=1 HTTP/1.1\r\nHost: other.example\r\n\r\n",
      );
      connection.destroy();
      assert.equal(response.status, 200);
      assert.deepEqual(
        seen.slice(mark).map((entry) => entry.url),
        ["/abs?q=1"],
      );
      assert.equal(seen[mark]!.headers["x-forwarded-host"], "Shop.Example.com:8080");
    });

    it("serves an absolute-form target with an empty path as /", async () => {
      const mark = seen.length;
      const { connection, response } = await exchange(
        "GET http://shop.example.com?q=1 HTTP/1.1\r\nHost: shop.example.com\r\n\r\n",
      );
      connection.destroy();
      assert.equal(response.status, 200, response.body);
      assert.deepEqual(
        seen.slice(mark).map((entry) => entry.url),
        ["/?q=1"],
      );
    });

    for (const [label, value] of [
      ["NUL", "a\0b"],
      ["a bare CR", "a\rb"],
      ["a bare LF", "a\nb"],
    ] as const) {
      it(`refuses ${label} in a header value`, async () => {
        await assertRejected(
          `GET /x HTTP/1.1\r\nHost: a\r\nX-Thing: ${value}\r\n\r\n`,
          400,
          "GATEHOUSE_BAD_FRAMING",
        );
      });
    }
  });

  describe("limits", () => {
    const headers = (count: number) =>
      Array.from({ length: count }, (_, i) => `X-H${i}: v\r\n`).join("");

    it(`accepts maxHeaderCount (${limits.maxHeaderCount}) headers and refuses one more with 431`, async () => {
      const { connection, response } = await exchange(
        `GET /count HTTP/1.1\r\nHost: a\r\n${headers(limits.maxHeaderCount - 1)}\r\n`,
      );
      connection.destroy();
      assert.equal(response.status, 200);
      await assertRejected(
        `GET /count HTTP/1.1\r\nHost: a\r\n${headers(limits.maxHeaderCount)}\r\n`,
        431,
        "GATEHOUSE_HEADERS_TOO_LARGE",
        { mustClose: false },
      );
    });

    it("closes after 431 for too many headers when a body was announced", async () => {
      await assertRejected(
        `POST /count HTTP/1.1\r\nHost: a\r\n${headers(limits.maxHeaderCount)}Content-Length: 3\r\n\r\nabc`,
        431,
        "GATEHOUSE_HEADERS_TOO_LARGE",
      );
    });

    it(`refuses headers larger than maxHeaderSize (${limits.maxHeaderSize}) with 431`, async () => {
      await assertRejected(
        `GET /big HTTP/1.1\r\nHost: a\r\nX-Big: ${"b".repeat(limits.maxHeaderSize + 10)}\r\n\r\n`,
        431,
        "GATEHOUSE_HEADERS_TOO_LARGE",
      );
    });

    it(`refuses a target longer than maxUriLength (${limits.maxUriLength}) with 414`, async () => {
      const exact = `/${"u".repeat(limits.maxUriLength - 1)}`;
      const { connection, response } = await exchange(`GET ${exact} HTTP/1.1\r\nHost: a\r\n\r\n`);
      connection.destroy();
      assert.equal(response.status, 200);
      await assertRejected(
        `GET ${exact}u HTTP/1.1\r\nHost: a\r\n\r\n`,
        414,
        "GATEHOUSE_URI_TOO_LONG",
        { mustClose: false },
      );
    });

    it("refuses a target longer than both maxUriLength and maxHeaderSize with 414", async () => {
      await assertRejected(
        `GET /${"u".repeat(limits.maxHeaderSize + 10)} HTTP/1.1\r\nHost: a\r\n\r\n`,
        414,
        "GATEHOUSE_URI_TOO_LONG",
      );
    });

    it("refuses a Content-Length over maxBodySize with 413 before the body is sent", async () => {
      // Only the head is written: the answer must not wait for a body.
      await assertRejected(
        `POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: ${limits.maxBodySize + 1}\r\n\r\n`,
        413,
        "GATEHOUSE_BODY_TOO_LARGE",
      );
    });

    it("answers 413 without 100 Continue when the client expects one", async () => {
      const mark = seen.length;
      const { connection, response } = await exchange(
        `POST /upload HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: ${limits.maxBodySize * 5}\r\n\r\n`,
      );
      try {
        assert.equal(response.status, 413);
        assert.equal(await connection.waitClosed(), true);
      } finally {
        connection.destroy();
      }
      await assertUpstreamSawOnly(mark);
    });

    it("accepts a body of exactly maxBodySize, by Content-Length and chunked", async () => {
      const body = "x".repeat(limits.maxBodySize);
      const fixed = await exchange(
        `POST /exact HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      fixed.connection.destroy();
      assert.equal(fixed.response.status, 200);
      assert.equal(JSON.parse(fixed.response.body).bodySize, body.length);
      const chunked = await exchange(
        `POST /exact HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      );
      chunked.connection.destroy();
      assert.equal(chunked.response.status, 200);
      assert.equal(JSON.parse(chunked.response.body).bodySize, body.length);
    });

    it("stops a chunked body over maxBodySize sent at once", async () => {
      const mark = seen.length;
      const body = "y".repeat(limits.maxBodySize + 1);
      const connection = await RawConnection.open(gw.port);
      try {
        await connection.write(
          `POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
        );
        await assertTooLargeOrClosed(connection);
      } finally {
        connection.destroy();
      }
      for (const entry of seen.slice(mark)) assert.equal(entry.complete, false);
      for (const entry of seen.slice(mark)) assert.ok(entry.body.length <= limits.maxBodySize);
    });

    it("stops a chunked body that grows over maxBodySize while it streams", async () => {
      const mark = seen.length;
      const part = "z".repeat(600);
      const connection = await RawConnection.open(gw.port);
      try {
        await connection.write(
          `POST /stream HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${part.length.toString(16)}\r\n${part}\r\n`,
        );
        // The first part is under the limit, so the request goes upstream; wait until it has.
        await until(() => seen.length > mark && seen[mark]!.body.length === part.length);
        await connection.write(`${part.length.toString(16)}\r\n${part}\r\n0\r\n\r\n`);
        await assertTooLargeOrClosed(connection);
      } finally {
        connection.destroy();
      }
      await until(() => seen.slice(mark).every((entry) => !entry.complete));
      const entry = seen[mark]!;
      assert.equal(entry.url, "/stream");
      assert.equal(entry.complete, false, "the upstream must not get the whole body");
      assert.ok(entry.body.length <= limits.maxBodySize);
    });
  });

  describe("smuggling", () => {
    const hidden = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

    async function assertNotSmuggled(
      request: string,
      expectedStatus: number,
      expectedUpstream: string[],
    ) {
      const mark = seen.length;
      const connection = await RawConnection.open(gw.port);
      try {
        await connection.write(request);
        const first = await connection.readResponse();
        assert.equal(first.status, expectedStatus);
        if (expectedStatus >= 400) {
          // Refused: the connection ends here, with nothing after the one response.
          assert.equal(await connection.waitClosed(), true, "connection must be closed");
          assert.equal(connection.pending, "", "nothing may follow the refusal");
        } else {
          // Served: the next response on the connection must answer the next request sent.
          const next = `/next-${mark}`;
          expectedUpstream = [...expectedUpstream, next];
          await connection.write(`GET ${next} HTTP/1.1\r\nHost: a\r\n\r\n`);
          assert.equal(JSON.parse((await connection.readResponse()).body).url, next);
        }
      } finally {
        connection.destroy();
      }
      await assertUpstreamSawOnly(mark, expectedUpstream);
      assert.equal(
        seen.some((entry) => entry.url.includes("smuggled")),
        false,
      );
    }

    it("CL.TE: a request hidden after a zero chunk is refused", async () => {
      const body = `0\r\n\r\n${hidden}`;
      await assertNotSmuggled(
        `POST /cl-te HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n${body}`,
        400,
        [],
      );
    });

    it("TE.CL: a request hidden inside a chunk the CL would cut is refused", async () => {
      const chunk = `${hidden}`;
      await assertNotSmuggled(
        `POST /te-cl HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
        400,
        [],
      );
    });

    it("TE.TE: an obfuscated second Transfer-Encoding is refused", async () => {
      await assertNotSmuggled(
        `POST /te-te HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\nContent-Length: 4\r\n\r\n5c\r\n${hidden}\r\n0\r\n\r\n`,
        400,
        [],
      );
    });

    it("a request inside a well-framed chunked body stays body", async () => {
      await assertNotSmuggled(
        `POST /chunk-body HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${hidden.length.toString(16)}\r\n${hidden}\r\n0\r\n\r\n`,
        200,
        ["/chunk-body"],
      );
      assert.equal(seen.find((entry) => entry.url === "/chunk-body")?.body, hidden);
    });

    it("a request inside a Content-Length body stays body", async () => {
      await assertNotSmuggled(
        `POST /cl-body HTTP/1.1\r\nHost: a\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`,
        200,
        ["/cl-body"],
      );
      assert.equal(seen.find((entry) => entry.url === "/cl-body")?.body, hidden);
    });

    it("a request hidden in the unread body of a refused request is never parsed", async () => {
      // 405: the route matched but the method did not, so the body is left unread.
      await assertNotSmuggled(
        `PATCH /get-only HTTP/1.1\r\nHost: a\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`,
        405,
        [],
      );
      // 413: refused on its Content-Length, so the body is never read.
      const padded = hidden.padEnd(limits.maxBodySize + 1, "p");
      await assertNotSmuggled(
        `POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: ${padded.length}\r\n\r\n${padded}`,
        413,
        [],
      );
      // 400: an absolute-form target for a host not served here.
      await assertNotSmuggled(
        `POST http://evil.example/x HTTP/1.1\r\nHost: a\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`,
        400,
        [],
      );
    });

    it("an overflowing chunk size is refused", async () => {
      await assertNotSmuggled(
        `POST /overflow HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\n${hidden}\r\n0\r\n\r\n`,
        400,
        [],
      );
    });
  });

  describe("keep-alive", () => {
    it("serves two requests in a row on one connection", async () => {
      const mark = seen.length;
      const connection = await RawConnection.open(gw.port);
      try {
        await connection.write("GET /ka/1 HTTP/1.1\r\nHost: a\r\n\r\n");
        const first = await connection.readResponse();
        assert.equal(first.status, 200);
        await connection.write("POST /ka/2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
        const second = await connection.readResponse();
        assert.equal(second.status, 200);
        assert.deepEqual(JSON.parse(second.body), { url: "/ka/2", bodySize: 3 });
        assert.equal(connection.closed, false);
      } finally {
        connection.destroy();
      }
      assert.deepEqual(
        seen.slice(mark).map((entry) => entry.url),
        ["/ka/1", "/ka/2"],
      );
    });

    it("serves two pipelined requests in order", async () => {
      const mark = seen.length;
      const connection = await RawConnection.open(gw.port);
      try {
        await connection.write(
          "POST /pipe/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiGET /pipe/2 HTTP/1.1\r\nHost: a\r\n\r\n",
        );
        assert.deepEqual(JSON.parse((await connection.readResponse()).body), {
          url: "/pipe/1",
          bodySize: 2,
        });
        assert.deepEqual(JSON.parse((await connection.readResponse()).body), {
          url: "/pipe/2",
          bodySize: 0,
        });
      } finally {
        connection.destroy();
      }
      // Answered in order; the upstream may see them in either order (separate connections,
      // and a small body is read whole before its request is sent).
      assert.deepEqual(
        seen
          .slice(mark)
          .map((entry) => entry.url)
          .sort(),
        ["/pipe/1", "/pipe/2"],
      );
    });

    it("keeps serving a connection after a refusal that needs no close", async () => {
      const connection = await RawConnection.open(gw.port);
      try {
        await connection.write(
          `GET /${"u".repeat(limits.maxUriLength)} HTTP/1.1\r\nHost: a\r\n\r\n`,
        );
        assert.equal((await connection.readResponse()).status, 414);
        await connection.write("GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
        assert.equal((await connection.readResponse()).status, 200);
      } finally {
        connection.destroy();
      }
    });
  });
});

/** A chunked body over the limit must end in a 413 or a closed connection, never a 200. */
async function assertTooLargeOrClosed(connection: RawConnection): Promise<void> {
  let status: number | undefined;
  try {
    status = (await connection.readResponse()).status;
  } catch {
    assert.equal(connection.closed, true, "neither a response nor a closed connection");
    return;
  }
  assert.equal(status, 413);
  assert.equal(await connection.waitClosed(), true, "connection must be closed after 413");
}

/** Polls `condition` every few milliseconds for at most `timeoutMs`. */
async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
