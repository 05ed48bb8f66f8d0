// The compression plugin on streamed responses, over real sockets: an upstream that writes
// one line and waits is decoded by the client before the rest is sent, in every coding; and
// HTTP/2 clients get compressed responses as HTTP/1.1 ones do.
import assert from "node:assert/strict";
import { connect } from "node:http2";
import { after, before, describe, it } from "node:test";
import zlib from "node:zlib";
import { request } from "undici";
import { type RunningGateway, startSimpleGateway } from "../helpers/gateway.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const json = JSON.stringify({ items: Array.from({ length: 300 }, (_, i) => ({ id: i })) });

/** The stream's writer waits for this before its last chunk. */
let releaseStream: () => void = () => {};

describe("compression plugin: streams and HTTP/2", () => {
  let upstream: Upstream;
  let gateway: RunningGateway;
  before(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.method === "POST") {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => {
          res.writeHead(200, {
            "content-type": "text/plain",
            "x-encoding": `${req.headers["content-encoding"]}`,
          });
          res.end(Buffer.concat(chunks));
        });
        return;
      }
      if (req.url === "/stream") {
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.write('{"line":1}\n');
        releaseStream = () => res.end('{"line":2}\n');
        return;
      }
      res.writeHead(200, { "content-type": "application/json", "content-length": json.length });
      res.end(json);
    });
    gateway = await startSimpleGateway([upstream.url], {
      plugins: [{ name: "compression" }],
    });
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
  });

  it("streams: the client decodes the first chunk before the upstream has sent the last", async () => {
    for (const encoding of ["gzip", "br", "zstd"] as const) {
      const res = await request(`${gateway.url}/stream`, {
        headers: { "accept-encoding": encoding },
      });
      assert.equal(res.headers["content-encoding"], encoding);
      const decoder =
        encoding === "gzip"
          ? zlib.createGunzip()
          : encoding === "br"
            ? zlib.createBrotliDecompress()
            : zlib.createZstdDecompress();
      res.body.pipe(decoder);
      const decoded: string[] = [];
      decoder.on("data", (chunk: Buffer) => decoded.push(chunk.toString()));
      const ended = new Promise((resolve) => decoder.once("end", resolve));
      const deadline = Date.now() + 5000;
      while (decoded.join("") !== '{"line":1}\n') {
        assert.ok(Date.now() < deadline, `${encoding}: the first line never came: ${decoded}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      // Only now does the upstream send the rest.
      releaseStream();
      await ended;
      assert.equal(decoded.join(""), '{"line":1}\n{"line":2}\n');
    }
  });

  it("compresses over HTTP/2 (h2c) as over HTTP/1.1, and decodes uploads", async () => {
    const h2 = await startSimpleGateway(
      [upstream.url],
      { plugins: [{ name: "compression", config: { decompressRequests: true } }] },
      { listen: [{ host: "127.0.0.1", port: 0, http2: true }] },
    );
    const session = connect(h2.url);
    try {
      const stream = session.request({ ":path": "/json", "accept-encoding": "br" });
      const [headers, body] = await Promise.all([
        new Promise<Record<string, unknown>>((resolve) => stream.once("response", resolve)),
        (async () => {
          const chunks: Buffer[] = [];
          for await (const chunk of stream) chunks.push(chunk as Buffer);
          return Buffer.concat(chunks);
        })(),
      ]);
      assert.equal(headers[":status"], 200);
      assert.equal(headers["content-encoding"], "br");
      assert.equal(headers["content-length"], undefined);
      assert.ok(zlib.brotliDecompressSync(body).toString() === json);

      const upload = session.request({
        ":method": "POST",
        ":path": "/upload",
        "content-encoding": "gzip",
      });
      upload.end(zlib.gzipSync(json));
      const [uploaded, echoed] = await Promise.all([
        new Promise<Record<string, unknown>>((resolve) => upload.once("response", resolve)),
        (async () => {
          const chunks: Buffer[] = [];
          for await (const chunk of upload) chunks.push(chunk as Buffer);
          return Buffer.concat(chunks).toString();
        })(),
      ]);
      assert.equal(uploaded["x-encoding"], "undefined");
      assert.ok(echoed === json, "the upstream read the decoded upload");
    } finally {
      session.close();
      await h2.stop();
    }
  });
});
