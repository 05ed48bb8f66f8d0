// response-transformer over real sockets: a real upstream answers, and the client gets the
// headers edited, the status replaced and JSON body fields edited (bounded, chunked or
// not), while compressed and non-JSON bodies pass untouched and compressed ones are counted.
import assert from "node:assert/strict";
import { get, type IncomingMessage, type ServerResponse } from "node:http";
import { Transform } from "node:stream";
import { after, before, describe, it } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import { request } from "undici";
import { z } from "zod";
import { definePlugin } from "../../src/pipeline/plugin.ts";
import {
  createPluginGateway,
  type RunningGateway,
  startGateway,
  testConfig,
} from "../helpers/gateway.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const document = { id: 7, secret: "s", owner: { email: "a@b.c", name: "Ann" }, status: "ok" };

/** Answers by path: JSON (declared length or chunked), gzip'd JSON, text, a 404, a big body. */
function answer(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const json = JSON.stringify(document);
  res.setHeader("x-powered-by", "upstream");
  res.setHeader("x-old", "renamed-value");
  res.appendHeader("set-cookie", "a=1");
  switch (req.url) {
    case "/json":
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(json),
      });
      res.end(json);
      return;
    case "/chunked":
      res.writeHead(200, { "content-type": "application/vnd.api+json" });
      res.write(json.slice(0, 10));
      setTimeout(() => res.end(json.slice(10)), 20);
      return;
    case "/gzip": {
      const zipped = gzipSync(json);
      res.writeHead(200, {
        "content-type": "application/json",
        "content-encoding": "gzip",
        "content-length": zipped.length,
      });
      res.end(zipped);
      return;
    }
    case "/text":
      res.writeHead(200, { "content-type": "text/plain", "content-length": 9 });
      res.end("secret=s;");
      return;
    case "/missing":
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"error":"none"}');
      return;
    case "/big":
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ pad: "x".repeat(5000) }));
      return;
    default:
      res.writeHead(500);
      res.end();
  }
}

describe("response-transformer", () => {
  let up: Upstream;
  let gw: RunningGateway;

  before(async () => {
    up = await startUpstream(answer);
    gw = await startGateway(
      testConfig({
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "all",
            match: { paths: ["/*"] },
            service: "svc",
            plugins: [
              {
                name: "response-transformer",
                config: {
                  headers: {
                    remove: ["x-powered-by"],
                    rename: { "x-old": "x-new" },
                    replace: { "content-type": "$(header.x-want-type)", "x-absent": "never" },
                    set: { "cache-control": "no-store", "x-served-for": "$(client.ip)" },
                    add: { "x-request": "$(request.id)" },
                    append: { "set-cookie": "b=2" },
                  },
                  status: { 404: 200 },
                  body: {
                    remove: ["secret", "owner.email"],
                    rename: { status: "state" },
                    set: { "meta.path": "$(request.path)" },
                    add: { id: 0, version: 2 },
                    maxSize: "1kb",
                  },
                },
              },
            ],
          },
        ],
      }),
    );
  });

  after(async () => {
    await gw?.stop();
    await up?.close();
  });

  const edited = (path: string) => ({
    id: 7,
    owner: { name: "Ann" },
    state: "ok",
    meta: { path },
    version: 2,
  });

  it("edits the headers, templated from the request", async () => {
    const res = await request(`${gw.url}/json`);
    await res.body.text();
    assert.equal(res.headers["x-powered-by"], undefined);
    assert.equal(res.headers["x-old"], undefined);
    assert.equal(res.headers["x-new"], "renamed-value");
    assert.equal(res.headers["cache-control"], "no-store");
    assert.equal(res.headers["x-served-for"], "127.0.0.1");
    assert.equal(res.headers["x-request"], res.headers["x-request-id"]);
    assert.deepEqual(res.headers["set-cookie"], ["a=1", "b=2"]);
    assert.equal(res.headers["x-absent"], undefined, "replace never adds a header");
    assert.equal(res.headers["content-type"], "application/json", "no x-want-type: kept");
    const replaced = await request(`${gw.url}/json`, {
      headers: { "x-want-type": "application/vnd.x+json" },
    });
    await replaced.body.text();
    assert.equal(replaced.headers["content-type"], "application/vnd.x+json");
  });

  it("edits JSON body fields, sent with the edited body's length", async () => {
    const res = await request(`${gw.url}/json`);
    const text = await res.body.text();
    assert.deepEqual(JSON.parse(text), edited("/json"));
    assert.equal(Number(res.headers["content-length"]), Buffer.byteLength(text), "its own length");
    assert.equal(res.headers["transfer-encoding"], undefined);
  });

  it("edits a chunked +json body, and sends it with a length", async () => {
    const res = await request(`${gw.url}/chunked`);
    const text = await res.body.text();
    assert.deepEqual(JSON.parse(text), edited("/chunked"));
    assert.equal(Number(res.headers["content-length"]), Buffer.byteLength(text));
  });

  it("replaces a status, with its own reason phrase", async () => {
    const head = await new Promise<IncomingMessage>((resolve) => get(`${gw.url}/missing`, resolve));
    head.resume();
    assert.equal(`${head.statusCode} ${head.statusMessage}`, "200 OK");
    const res = await request(`${gw.url}/missing`);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(JSON.parse(await res.body.text()), {
      error: "none",
      meta: { path: "/missing" },
      id: 0,
      version: 2,
    });
  });

  it("passes a compressed body untouched and counts it", async () => {
    const res = await request(`${gw.url}/gzip`);
    const body = Buffer.from(await res.body.arrayBuffer());
    assert.equal(res.headers["content-encoding"], "gzip");
    assert.deepEqual(JSON.parse(gunzipSync(body).toString()), document);
    assert.equal(Number(res.headers["content-length"]), body.length, "its own length kept");
    const metrics = await (await request(`${gw.statusUrl}/metrics`)).body.text();
    assert.match(
      metrics,
      /gatehouse_body_transform_skipped_total\{route="all",plugin="response-transformer",reason="encoded"\} 1/,
    );
  });

  it("passes a body that is not JSON untouched, with its length", async () => {
    const res = await request(`${gw.url}/text`);
    assert.equal(await res.body.text(), "secret=s;");
    assert.equal(res.headers["content-length"], "9");
    assert.equal(res.headers["cache-control"], "no-store", "headers are edited all the same");
  });

  it("answers 502 for a JSON body over the bound", async () => {
    const res = await request(`${gw.url}/big`);
    assert.equal(res.statusCode, 502);
    assert.equal(JSON.parse(await res.body.text()).error.code, "GATEHOUSE_RESPONSE_TOO_LARGE");
  });

  it("leaves the body of a HEAD alone", async () => {
    const res = await request(`${gw.url}/json`, { method: "HEAD" });
    await res.body.text();
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["x-new"], "renamed-value");
  });

  it("leaves the length out when another plugin's transform follows its own", async () => {
    // onResponse unwinds: a higher priority runs later, so its transform comes after.
    const shouting = definePlugin({
      name: "shouting",
      schema: z.strictObject({}),
      priority: 900,
      create: () => ({
        onResponse(ctx) {
          const upper = new Transform({
            transform: (chunk: Buffer, _encoding, done) =>
              done(null, chunk.toString().toUpperCase()),
            flush: (done) => done(null, "!"),
          });
          ctx.transformResponseBody(upper, { maxSize: 10_000 });
        },
      }),
    });
    const config = { body: { remove: ["secret"] } };
    const gateway = await createPluginGateway(
      up.url,
      [{ name: "response-transformer", config }, { name: "shouting" }],
      [shouting],
    );
    try {
      const port = gateway.addresses().proxy[0]!.port;
      const res = await request(`http://127.0.0.1:${port}/json`);
      const text = await res.body.text();
      assert.equal(text, `${JSON.stringify({ ...document, secret: undefined }).toUpperCase()}!`);
      const length = res.headers["content-length"];
      assert.ok(
        length === undefined || Number(length) === Buffer.byteLength(text),
        `length ${length}`,
      );
    } finally {
      await gateway.stop();
    }
  });
});
