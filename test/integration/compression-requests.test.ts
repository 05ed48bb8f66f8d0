// The compression plugin's `decompressRequests` over real sockets: compressed uploads reach
// the upstream decoded, bodies that do not decode are a 400, and a small gzip that inflates
// to 100 MB is refused with 413 once it passes the bound, without the gateway's memory
// growing by more than a few tens of megabytes.
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { after, before, describe, it } from "node:test";
import zlib from "node:zlib";
import { request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

const json = JSON.stringify({
  orders: Array.from({ length: 200 }, (_, i) => ({ id: i, sku: `sku-${i % 17}`, qty: i % 5 })),
});

const encoders = {
  gzip: (body: string) => zlib.gzipSync(body),
  deflate: (body: string) => zlib.deflateSync(body),
  br: (body: string) => zlib.brotliCompressSync(body),
  zstd: (body: string) => zlib.zstdCompressSync(body),
} as const;

/** Echoes the request, with the body it received as text. */
function echoBody(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const body = JSON.stringify({ headers: req.headers, body: Buffer.concat(chunks).toString() });
    res.writeHead(200, { "content-type": "application/json" });
    res.end(body);
  });
}

/** 100 MB of zeros, gzipped as it streams, so the test itself never holds 100 MB. */
async function gzipBomb(): Promise<Buffer> {
  const megabyte = Buffer.alloc(1024 * 1024);
  async function* zeros() {
    for (let i = 0; i < 100; i++) yield megabyte;
  }
  const out: Buffer[] = [];
  await pipeline(
    zeros(),
    zlib.createGzip({ level: 9 }),
    async (compressed: AsyncIterable<Buffer>) => {
      for await (const chunk of compressed) out.push(chunk);
    },
  );
  return Buffer.concat(out);
}

describe("compression plugin: compressed request bodies", () => {
  let upstream: Upstream;
  let counting: Upstream;
  let received = 0;
  let gateway: RunningGateway;
  before(async () => {
    upstream = await startUpstream(echoBody);
    counting = await startUpstream((req, res) => {
      req.on("data", (chunk: Buffer) => {
        received += chunk.length;
      });
      req.on("end", () => echo(req, res));
    });
    const plugins = [{ name: "compression", config: { decompressRequests: true } }];
    gateway = await startGateway(
      testConfig({
        services: [
          { name: "echo", targets: [{ url: upstream.url }] },
          { name: "counting", targets: [{ url: counting.url }] },
        ],
        routes: [
          { name: "decoded", match: { paths: ["/upload"] }, service: "echo", plugins },
          { name: "counted", match: { paths: ["/bomb"] }, service: "counting", plugins },
          { name: "as-sent", match: { paths: ["/plain"] }, service: "echo" },
        ],
      }),
    );
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    await counting.close();
  });

  for (const [coding, encode] of Object.entries(encoders)) {
    it(`decodes a ${coding} upload: the upstream reads the JSON, without the coding or length`, async () => {
      const sent = encode(json);
      const res = await request(`${gateway.url}/upload`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-encoding": coding },
        body: sent,
      });
      const seen = (await res.body.json()) as { headers: Record<string, string>; body: string };
      assert.equal(res.statusCode, 200);
      assert.ok(seen.body === json, `the upstream got the decoded ${coding} body`);
      assert.equal(seen.headers["content-encoding"], undefined);
      assert.notEqual(seen.headers["content-length"], String(sent.length));
    });
  }

  it("sends a coding it does not decode, and every coding without the option, as it came", async () => {
    const unknown = await request(`${gateway.url}/upload`, {
      method: "POST",
      headers: { "content-encoding": "compress" },
      body: "opaque",
    });
    const seen = (await unknown.body.json()) as { headers: Record<string, string>; body: string };
    assert.equal(seen.headers["content-encoding"], "compress");
    assert.equal(seen.body, "opaque");

    const gzipped = encoders.gzip(json);
    const plain = await request(`${gateway.url}/plain`, {
      method: "POST",
      headers: { "content-encoding": "gzip" },
      body: gzipped,
    });
    const asSent = (await plain.body.json()) as { headers: Record<string, string>; body: string };
    assert.equal(asSent.headers["content-encoding"], "gzip");
    assert.equal(asSent.headers["content-length"], String(gzipped.length));
  });

  it("answers 400 GATEHOUSE_BAD_CONTENT_ENCODING for a body that does not decode", async () => {
    const res = await request(`${gateway.url}/upload`, {
      method: "POST",
      headers: { "content-encoding": "gzip" },
      body: Buffer.from("this is not gzip at all"),
    });
    const answer = (await res.body.json()) as { error: { code: string } };
    assert.equal(res.statusCode, 400);
    assert.equal(answer.error.code, "GATEHOUSE_BAD_CONTENT_ENCODING");
  });

  it("refuses a gzip bomb with 413 as it passes 10 MB, and holds little memory doing it", async () => {
    const bomb = await gzipBomb();
    assert.ok(bomb.length < 150 * 1024, `the bomb is ${bomb.length} bytes`);
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 2);
    try {
      const res = await request(`${gateway.url}/bomb`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-encoding": "gzip" },
        body: bomb,
      });
      const answer = (await res.body.json()) as { error: { code: string } };
      assert.equal(res.statusCode, 413);
      assert.equal(answer.error.code, "GATEHOUSE_BODY_TOO_LARGE");
    } finally {
      clearInterval(sampler);
    }
    // Refused at the bound: the upstream never saw much more than 10 MB of the 100.
    assert.ok(received <= 10 * 1024 * 1024, `the upstream received ${received} bytes`);
    const grown = (peak - baseline) / 1024 / 1024;
    assert.ok(grown < 40, `the process grew by ${grown.toFixed(1)} MB`);
  });
});
