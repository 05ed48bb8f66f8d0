// A plugin answers a request itself with text, a Buffer, a stream or a JSON value: each
// reaches the client over a real socket with its content type, its length (or chunked,
// for a stream), and the upstream is never called.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { z } from "zod";
import type { Gateway } from "../../src/gateway.ts";
import { definePlugin } from "../../src/pipeline/plugin.ts";
import { createPluginGateway } from "../helpers/gateway.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

/** Answers `/text`, `/buffer`, `/stream`, `/json` and `/broken` itself. */
const answering = definePlugin({
  name: "answering",
  schema: z.strictObject({}),
  priority: 10,
  create: () => ({
    access(ctx) {
      if (ctx.path === "/text") ctx.respond(200, "plain words");
      if (ctx.path === "/buffer") ctx.respond(200, Buffer.from([0, 1, 2, 255]));
      if (ctx.path === "/stream") {
        ctx.respond(200, Readable.from(["one,", "two,", "three"]), { "content-type": "text/csv" });
      }
      if (ctx.path === "/json") ctx.respond(201, { id: 7, tags: ["a"] });
      if (ctx.path === "/broken") {
        const body = new Readable({ read() {} });
        body.push("half");
        setTimeout(() => body.destroy(new Error("source failed")), 20);
        ctx.respond(200, body);
      }
    },
  }),
});

describe("ctx.respond with text, a Buffer, a stream or JSON", () => {
  let up: Upstream;
  let gateway: Gateway;
  let base: string;

  before(async () => {
    up = await startUpstream(echo);
    gateway = await createPluginGateway(up.url, [{ name: "answering" }], [answering]);
    base = `http://127.0.0.1:${gateway.addresses().proxy[0]!.port}`;
  });

  after(async () => {
    await gateway?.stop();
    await up?.close();
  });

  it("sends a string as text with its length", async () => {
    const res = await request(`${base}/text`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["content-type"], "text/plain; charset=utf-8");
    assert.equal(res.headers["content-length"], "11");
    assert.equal(await res.body.text(), "plain words");
  });

  it("sends a Buffer byte for byte, as octets", async () => {
    const res = await request(`${base}/buffer`);
    assert.equal(res.headers["content-type"], "application/octet-stream");
    assert.equal(res.headers["content-length"], "4");
    assert.deepEqual([...Buffer.from(await res.body.arrayBuffer())], [0, 1, 2, 255]);
  });

  it("pipes a stream, chunked, keeping the plugin's content type", async () => {
    const res = await request(`${base}/stream`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["content-type"], "text/csv");
    assert.equal(res.headers["transfer-encoding"], "chunked");
    assert.equal(res.headers["content-length"], undefined);
    assert.equal(await res.body.text(), "one,two,three");
  });

  it("sends any other value as JSON", async () => {
    const res = await request(`${base}/json`);
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers["content-type"], "application/json");
    assert.deepEqual(await res.body.json(), { id: 7, tags: ["a"] });
  });

  it("cuts the response when the answer's stream fails, never a short body taken as whole", async () => {
    const res = await request(`${base}/broken`);
    assert.equal(res.statusCode, 200);
    await assert.rejects(res.body.text());
  });

  it("never calls the upstream for an answered request", () => {
    assert.equal(up.requests.length, 0);
  });
});
