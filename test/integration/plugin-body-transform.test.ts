// Plugins transform request and response bodies as they stream (ctx.transformRequestBody,
// ctx.transformResponseBody), within a size bound: over real sockets the upstream gets the
// transformed request body, the client the transformed response, a request body over the
// bound is refused with 413, a response body over it with 502 GATEHOUSE_RESPONSE_TOO_LARGE,
// and a transform that fails answers 500.
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable, Transform } from "node:stream";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { z } from "zod";
import type { Gateway } from "../../src/gateway.ts";
import { definePlugin } from "../../src/pipeline/plugin.ts";
import { createPluginGateway } from "../helpers/gateway.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

/** Upper-cases text as it passes, and adds "!" at its end (so its length changes). */
const upperCase = () =>
  new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      callback(null, chunk.toString("latin1").toUpperCase());
    },
    flush(callback) {
      callback(null, "!");
    },
  });

/** Reads the whole body, then gives it back with every "secret" masked. */
const redacting = () => {
  const chunks: Buffer[] = [];
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
    flush(callback) {
      callback(null, Buffer.concat(chunks).toString("utf8").replaceAll("secret", "******"));
    },
  });
};

const failing = () =>
  new Transform({
    transform(_chunk, _encoding, callback) {
      callback(new Error("the transform broke"));
    },
  });

const transforming = definePlugin({
  name: "transforming",
  schema: z.strictObject({}),
  priority: 10,
  create: () => ({
    access(ctx) {
      if (ctx.path.startsWith("/upper")) ctx.transformRequestBody(upperCase(), { maxSize: 64 });
      if (ctx.path === "/broken-request") ctx.transformRequestBody(failing(), { maxSize: 64 });
    },
    onResponse(ctx) {
      if (ctx.path.startsWith("/redact")) ctx.transformResponseBody(redacting(), { maxSize: 1000 });
      if (ctx.path === "/broken-response") ctx.transformResponseBody(failing(), { maxSize: 1000 });
    },
  }),
});

/** Echoes the request body back (with how it was framed); under /redact/big, 2000 bytes. */
function upstreamHandler(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    if (req.url === "/redact/big" || req.url === "/redact/big-chunked") {
      const big = "a secret ".repeat(222);
      if (req.url === "/redact/big") res.setHeader("content-length", Buffer.byteLength(big));
      res.write(big.slice(0, 1000));
      res.end(big.slice(1000));
      return;
    }
    res.setHeader("content-type", "application/json");
    res.end(
      JSON.stringify({
        body: Buffer.concat(chunks).toString("utf8"),
        length: req.headers["content-length"] ?? null,
        chunked: req.headers["transfer-encoding"] === "chunked",
        note: "the secret stays upstream",
      }),
    );
  });
}

interface Echoed {
  body: string;
  length: string | null;
  chunked: boolean;
  note: string;
}

describe("streaming transforms of request and response bodies", () => {
  let up: Upstream;
  let gateway: Gateway;
  let base: string;

  before(async () => {
    up = await startUpstream(upstreamHandler);
    gateway = await createPluginGateway(up.url, [{ name: "transforming" }], [transforming]);
    base = `http://127.0.0.1:${gateway.addresses().proxy[0]!.port}`;
  });

  after(async () => {
    await gateway?.stop();
    await up?.close();
  });

  it("sends the upstream the transformed request body, never with the client's length", async () => {
    const res = await request(`${base}/upper`, { method: "POST", body: "hello world" });
    const seen = (await res.body.json()) as Echoed;
    assert.equal(seen.body, "HELLO WORLD!");
    // Chunked, or (when the transformed body was whole before it was sent) its own length.
    assert.ok(seen.chunked || seen.length === "12", JSON.stringify(seen));
  });

  it("refuses a request body over the bound with 413, by its length or as it streams", async () => {
    const long = await request(`${base}/upper`, { method: "POST", body: "x".repeat(100) });
    assert.equal(long.statusCode, 413);
    assert.equal(
      ((await long.body.json()) as { error: { code: string } }).error.code,
      "GATEHOUSE_BODY_TOO_LARGE",
    );
    const streamed = await request(`${base}/upper`, {
      method: "POST",
      body: Readable.from(Array.from({ length: 10 }, () => "y".repeat(20))),
    });
    assert.equal(streamed.statusCode, 413);
    await streamed.body.dump();
  });

  it("gives the client the transformed response body", async () => {
    const res = await request(`${base}/redact/small`, { method: "POST", body: "my secret" });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["content-length"], undefined);
    const seen = (await res.body.json()) as Echoed;
    assert.equal(seen.body, "my ******");
    assert.equal(seen.note, "the ****** stays upstream");
  });

  it("leaves a response without a body (to HEAD) as it is", async () => {
    const res = await request(`${base}/redact/small`, { method: "HEAD" });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), "");
  });

  it("answers 502 for a response body over the bound, by its length or as it streams", async () => {
    for (const path of ["/redact/big", "/redact/big-chunked"]) {
      const res = await request(`${base}${path}`);
      assert.equal(res.statusCode, 502, path);
      const body = (await res.body.json()) as { error: { code: string } };
      assert.equal(body.error.code, "GATEHOUSE_RESPONSE_TOO_LARGE", path);
    }
  });

  it("answers 500 when a transform fails", async () => {
    for (const path of ["/broken-request", "/broken-response"]) {
      const res = await request(`${base}${path}`, { method: "POST", body: "some body" });
      assert.equal(res.statusCode, 500, path);
      await res.body.dump();
    }
    const after = await request(`${base}/upper`, { method: "POST", body: "still here" });
    assert.equal(((await after.body.json()) as Echoed).body, "STILL HERE!");
  });
});
