// The compression plugin over real sockets: what Node's fetch, undici and curl receive and
// decode for each coding, the responses that must pass untouched, and the headers a
// compressed response carries.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { request } from "undici";
import { type RunningGateway, startSimpleGateway } from "../helpers/gateway.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

/** About 10 KB of JSON, as an API would send it. */
const json = JSON.stringify({
  items: Array.from({ length: 100 }, (_, i) => ({
    id: i,
    name: `item-${i}`,
    email: `owner${i}@example.com`,
    tags: ["blue", "large", "sale"].slice(0, i % 4),
  })),
});

function routes(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url!, "http://upstream");
  const send = (status: number, headers: Record<string, string>, body: string | Buffer = "") => {
    res.writeHead(status, headers);
    res.end(req.method === "HEAD" ? undefined : body);
  };
  const typed = { "content-type": "application/json", "content-length": String(json.length) };
  switch (url.pathname) {
    case "/json":
      return send(200, { ...typed, etag: '"v1"', vary: "Origin", "accept-ranges": "bytes" }, json);
    case "/small":
      return send(
        200,
        { "content-type": "application/json", "content-length": "11" },
        '{"ok":true}',
      );
    case "/chunked":
      // No Content-Length: compressed whatever its size, since its type qualifies.
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("short ");
      res.end("answer");
      return;
    case "/png":
      return send(
        200,
        { "content-type": "image/png", "content-length": String(json.length) },
        json,
      );
    case "/events":
      return send(200, { "content-type": "text/event-stream" }, `data: ${json}\n\n`);
    case "/encoded":
      return send(
        200,
        { "content-type": "application/json", "content-encoding": "gzip" },
        zlib.gzipSync(json),
      );
    case "/no-transform":
      return send(200, { ...typed, "cache-control": "public, no-transform" }, json);
    case "/empty":
      return send(Number(url.searchParams.get("status")), {});
    default:
      return send(404, { "content-type": "text/plain" }, "no such thing");
  }
}

const decoders = {
  gzip: zlib.gunzipSync,
  br: zlib.brotliDecompressSync,
  zstd: zlib.zstdDecompressSync,
} as const;

describe("compression plugin", () => {
  let upstream: Upstream;
  let gateway: RunningGateway;
  before(async () => {
    upstream = await startUpstream(routes);
    gateway = await startSimpleGateway([upstream.url], {
      plugins: [{ name: "compression" }],
    });
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
  });

  for (const encoding of ["zstd", "br", "gzip"] as const) {
    it(`sends ${encoding} to a client that asks for it, and the bytes decode to the upstream's`, async () => {
      const res = await request(`${gateway.url}/json`, {
        headers: { "accept-encoding": encoding },
      });
      const raw = Buffer.from(await res.body.arrayBuffer());
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers["content-encoding"], encoding);
      assert.equal(res.headers["content-length"], undefined);
      assert.equal(res.headers.etag, 'W/"v1"');
      assert.equal(res.headers.vary, "Origin, Accept-Encoding");
      assert.equal(res.headers["accept-ranges"], undefined);
      assert.ok(raw.length < json.length / 3, `${raw.length} bytes of ${encoding}`);
      assert.equal(decoders[encoding](raw).toString(), json);

      // fetch decodes all three; it says what it got in Content-Encoding.
      const fetched = await fetch(`${gateway.url}/json`, {
        headers: { "accept-encoding": encoding },
      });
      assert.equal(fetched.headers.get("content-encoding"), encoding);
      assert.equal(await fetched.text(), json);
    });
  }

  it("picks zstd, then br, then gzip among codings the client rates alike", async () => {
    const pick = async (acceptEncoding: string) => {
      const res = await fetch(`${gateway.url}/json`, {
        headers: { "accept-encoding": acceptEncoding },
      });
      assert.ok((await res.text()) === json);
      return res.headers.get("content-encoding");
    };
    assert.equal(await pick("gzip, deflate, br, zstd"), "zstd");
    assert.equal(await pick("gzip, deflate, br"), "br");
    assert.equal(await pick("br;q=0.5, gzip"), "gzip");
    assert.equal(await pick("gzip;q=0, identity"), null);
    // fetch's own header is "gzip, deflate".
    const plain = await fetch(`${gateway.url}/json`);
    assert.equal(plain.headers.get("content-encoding"), "gzip");
    assert.ok((await plain.text()) === json);
  });

  it("is what curl --compressed asks for and decodes", async () => {
    // Asynchronously: the gateway answering curl runs in this process.
    const curl = (...args: string[]) =>
      promisify(execFile)("curl", ["-sS", "--compressed", "-D", "-", ...args], {
        encoding: "utf8",
      }).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") throw new Error("curl is needed: apt-get install curl");
        throw error;
      });
    const { stdout } = await curl(`${gateway.url}/json`);
    const [head, body] = stdout.split("\r\n\r\n");
    assert.match(head!, /^content-encoding: (zstd|br|gzip)\r?$/im);
    assert.ok(body === json, "curl decodes what it asked for");
    for (const encoding of ["gzip", "br", "zstd"]) {
      const one = await curl("-H", `Accept-Encoding: ${encoding}`, `${gateway.url}/json`);
      assert.match(one.stdout, new RegExp(`^content-encoding: ${encoding}\\r$`, "im"));
      assert.ok(one.stdout.split("\r\n\r\n")[1] === json, `curl decodes ${encoding}`);
    }
  });

  it("leaves a client that names no coding, or refuses them all, the response as it is", async () => {
    for (const headers of [{}, { "accept-encoding": "identity" }, { "accept-encoding": "*;q=0" }]) {
      const res = await request(`${gateway.url}/json`, { headers });
      assert.equal(res.headers["content-encoding"], undefined);
      assert.equal(res.headers["content-length"], String(json.length));
      assert.equal(res.headers.etag, '"v1"');
      assert.equal(res.headers.vary, "Origin, Accept-Encoding");
      assert.equal(await res.body.text(), json);
    }
  });

  it("compresses a response without a length whatever its size, one under 1 KB never", async () => {
    const chunked = await request(`${gateway.url}/chunked`, {
      headers: { "accept-encoding": "gzip" },
    });
    assert.equal(chunked.headers["content-encoding"], "gzip");
    assert.equal(
      zlib.gunzipSync(Buffer.from(await chunked.body.arrayBuffer())).toString(),
      "short answer",
    );

    const small = await request(`${gateway.url}/small`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(small.headers["content-encoding"], undefined);
    assert.equal(small.headers["content-length"], "11");
    assert.equal(small.headers.vary, "Accept-Encoding");
    assert.equal(await small.body.text(), '{"ok":true}');
  });

  it("passes untouched: other types, events, encoded bodies, no-transform", async () => {
    for (const path of ["/png", "/events", "/no-transform"]) {
      const res = await request(`${gateway.url}${path}`, {
        headers: { "accept-encoding": "gzip, br" },
      });
      const body = await res.body.text();
      assert.equal(res.headers["content-encoding"], undefined, path);
      assert.equal(res.headers.vary, undefined, path);
      assert.ok(body.includes('"item-99"'), path);
    }
    const encoded = await request(`${gateway.url}/encoded`, {
      headers: { "accept-encoding": "br" },
    });
    assert.equal(encoded.headers["content-encoding"], "gzip");
    assert.equal(zlib.gunzipSync(Buffer.from(await encoded.body.arrayBuffer())).toString(), json);
  });

  it("passes HEAD, 204 and 304 as they are", async () => {
    const head = await request(`${gateway.url}/json`, {
      method: "HEAD",
      headers: { "accept-encoding": "gzip" },
    });
    await head.body.dump();
    assert.equal(head.headers["content-encoding"], undefined);
    assert.equal(head.headers["content-length"], String(json.length));
    for (const status of [204, 304]) {
      const res = await request(`${gateway.url}/empty?status=${status}`, {
        headers: { "accept-encoding": "gzip" },
      });
      assert.equal(res.statusCode, status);
      assert.equal(res.headers["content-encoding"], undefined);
      assert.equal(await res.body.text(), "");
    }
  });

  it("leaves the answers plugins give themselves as they are", async () => {
    // minSize 0: the 401 of key-auth would qualify by its type and size.
    const guarded = await startSimpleGateway([upstream.url], {
      plugins: [{ name: "compression", config: { minSize: 0 } }, { name: "key-auth" }],
    });
    try {
      const res = await request(`${guarded.url}/json`, { headers: { "accept-encoding": "gzip" } });
      assert.equal(res.statusCode, 401);
      assert.equal(res.headers["content-encoding"], undefined);
      const answer = (await res.body.json()) as { error: { code: string } };
      assert.equal(answer.error.code, "GATEHOUSE_UNAUTHORIZED");
    } finally {
      await guarded.stop();
    }
  });
});
