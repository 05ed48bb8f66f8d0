// The compression plugin beside plugins that change bodies, over real sockets: it runs
// last on the response side, so a body response-transformer edited is what gets
// compressed; and first on the request side, so request-transformer edits the decoded
// upload. A mock's own answer is never compressed.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import zlib from "node:zlib";
import { request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const profile = {
  fullname: "Ann",
  password_hash: "x".repeat(2000),
  bio: "b".repeat(3000),
};

describe("compression plugin beside body transformers", () => {
  let upstream: Upstream;
  let gateway: RunningGateway;
  before(async () => {
    upstream = await startUpstream((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body =
          req.method === "POST" ? Buffer.concat(chunks).toString() : JSON.stringify(profile);
        res.writeHead(200, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
        });
        res.end(body);
      });
    });
    gateway = await startGateway(
      testConfig({
        services: [{ name: "users", targets: [{ url: upstream.url }] }],
        routes: [
          {
            name: "profiles",
            match: { paths: ["/profiles/*"] },
            service: "users",
            plugins: [
              { name: "compression", config: { decompressRequests: true } },
              {
                name: "response-transformer",
                config: { body: { remove: ["password_hash"], rename: { fullname: "name" } } },
              },
              { name: "request-transformer", config: { body: { add: { source: "gateway" } } } },
            ],
          },
          {
            name: "maintenance",
            match: { paths: ["/down"] },
            service: "users",
            plugins: [
              { name: "compression", config: { minSize: 0 } },
              { name: "mock", config: { status: 503, body: { message: "x".repeat(4000) } } },
            ],
          },
        ],
      }),
    );
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
  });

  it("compresses the body response-transformer edited", async () => {
    const res = await request(`${gateway.url}/profiles/ann`, {
      headers: { "accept-encoding": "gzip" },
    });
    assert.equal(res.headers["content-encoding"], "gzip");
    const sent = JSON.parse(zlib.gunzipSync(Buffer.from(await res.body.arrayBuffer())).toString());
    assert.deepEqual(sent, { name: "Ann", bio: profile.bio });
  });

  it("gives request-transformer the decoded upload to edit", async () => {
    const res = await request(`${gateway.url}/profiles/ann`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "br" },
      body: zlib.brotliCompressSync(JSON.stringify({ fullname: "Ann" })),
    });
    assert.equal(res.statusCode, 200);
    // The upstream's echo, edited back by response-transformer on its way out.
    assert.deepEqual(await res.body.json(), { name: "Ann", source: "gateway" });
  });

  it("sends a mock's answer as it is", async () => {
    const res = await request(`${gateway.url}/down`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers["content-encoding"], undefined);
    assert.equal(((await res.body.json()) as { message: string }).message.length, 4000);
  });
});
