// request-transformer over real sockets: a real upstream reports what it received (method,
// path and query, headers, body and its framing) after the gateway edited headers, query
// arguments, the method, the path and JSON body fields, with values templated from the
// path, the consumer, a verified token's claims, the client address, headers and query.
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { connect } from "node:http2";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { h2Request } from "../helpers/h2-client.ts";
import { signToken } from "../helpers/tokens.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

/** What the upstream saw of one request. */
interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  framing: string;
}

function report(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const framing =
      req.headers["transfer-encoding"] ?? `length ${req.headers["content-length"] ?? "none"}`;
    assert.ok(
      req.headers["content-length"] === undefined ||
        Number(req.headers["content-length"]) === body.length,
      "the upstream never gets a stale Content-Length",
    );
    res.setHeader("content-type", "application/json");
    res.end(
      JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: body.toString("latin1"),
        framing,
      }),
    );
  });
}

const secret = "k".repeat(32);
const aliceKey = "alice-key-123";

describe("request-transformer", () => {
  let up: Upstream;
  let gw: RunningGateway;

  before(async () => {
    up = await startUpstream(report);
    const plugin = (config: Record<string, unknown>) => [{ name: "request-transformer", config }];
    gw = await startGateway(
      testConfig({
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        consumers: [
          { name: "alice", groups: ["admins", "ops"], credentials: { keys: [aliceKey] } },
          {
            name: "partner",
            credentials: { keys: ["partner-key-456"] },
            plugins: [
              { name: "request-transformer", config: { headers: { set: { "x-plan": "gold" } } } },
            ],
          },
        ],
        routes: [
          {
            name: "headers",
            match: { paths: ["/h/:id"] },
            service: "svc",
            plugins: [
              { name: "key-auth", config: { anonymous: "guest" } },
              ...plugin({
                headers: {
                  remove: ["x-secret"],
                  rename: { "x-old": "x-new" },
                  replace: { "x-mode": "strict", "x-absent": "never" },
                  set: {
                    "x-team": "payments",
                    "x-user": "$(consumer.name)",
                    "x-id": "item-$(path.id)",
                  },
                  add: { "x-default": "kept-if-absent", "x-groups": "$(consumer.groups)" },
                  append: { "x-list": "three", "x-from-query": "$(query.page)" },
                },
              }),
            ],
          },
          {
            name: "claims",
            match: { paths: ["/claims"] },
            service: "svc",
            plugins: [
              { name: "jwt", config: { secret, algorithms: ["HS256"] } },
              ...plugin({
                headers: {
                  set: {
                    "x-sub": "$(claims.sub)",
                    "x-org": "$(claims.org.id)",
                    "x-ip": "$(client.ip)",
                  },
                },
                query: { set: { tenant: "$(claims.org.id)" } },
              }),
            ],
          },
          {
            name: "query",
            match: { paths: ["/q"] },
            service: "svc",
            plugins: plugin({
              query: {
                remove: ["drop"],
                rename: { old: "new" },
                replace: { sort: "asc", absent: "never" },
                set: { limit: "10" },
                add: { page: "1", from: "$(header.x-from)" },
                append: { tag: "b c" },
              },
            }),
          },
          {
            name: "rewrite",
            match: { paths: ["/old/:id"] },
            service: "svc",
            plugins: plugin({ method: "POST", path: "/v2/items/$(path.id)" }),
          },
          {
            name: "body",
            match: { paths: ["/b"] },
            service: "svc",
            plugins: plugin({
              body: {
                remove: ["password", "user.ssn"],
                rename: { name: "user.fullName" },
                set: { source: "gateway", "meta.client": "$(client.ip)", count: 3 },
                add: { "meta.version": 2, source: "never" },
                maxSize: "1kb",
              },
            }),
          },
        ],
      }),
    );
  });

  after(async () => {
    await gw?.stop();
    await up?.close();
  });

  async function send(path: string, options: Parameters<typeof request>[1] = {}) {
    const res = await request(gw.url + path, options);
    const text = await res.body.text();
    return {
      status: res.statusCode,
      seen: (res.statusCode === 200 ? JSON.parse(text) : text) as Seen,
      text,
    };
  }

  it("removes, renames, sets, adds and appends headers, templated from the path and the consumer", async () => {
    const { status, seen } = await send("/h/42?page=7", {
      headers: {
        "x-api-key": aliceKey,
        "x-secret": "s3cret",
        "x-old": "moved",
        "x-mode": "lenient",
        "x-team": "client-chose",
        "x-default": "client-value",
        "x-list": "one, two",
      },
    });
    assert.equal(status, 200);
    const h = seen.headers;
    assert.equal(h["x-secret"], undefined);
    assert.equal(h["x-old"], undefined);
    assert.equal(h["x-new"], "moved");
    assert.equal(h["x-mode"], "strict", "replace changes a header that is there");
    assert.equal(h["x-absent"], undefined, "replace never adds one");
    assert.equal(h["x-team"], "payments");
    assert.equal(h["x-user"], "alice");
    assert.equal(h["x-id"], "item-42");
    assert.equal(h["x-default"], "client-value", "add keeps what the client sent");
    assert.equal(h["x-groups"], "admins,ops");
    assert.equal(h["x-list"], "one, two, three");
    assert.equal(h["x-from-query"], "7");
  });

  it("takes a consumer's own config in place of the route's", async () => {
    const { seen } = await send("/h/5", { headers: { "x-api-key": "partner-key-456" } });
    assert.equal(seen.headers["x-plan"], "gold");
    assert.equal(seen.headers["x-team"], undefined, "the route's edits are replaced, not added to");
  });

  it("skips an edit whose template names what the request lacks", async () => {
    const { seen } = await send("/h/1");
    assert.equal(seen.headers["x-user"], "guest", "the anonymous consumer is a consumer");
    assert.equal(seen.headers["x-from-query"], undefined, "no ?page: nothing appended");
    assert.equal(seen.headers["x-default"], "kept-if-absent");
  });

  it("templates from a verified token's claims and the client address, into headers and the query", async () => {
    const token = await signToken(Buffer.from(secret), "HS256", {
      sub: "user-9",
      org: { id: "acme" },
    });
    const { status, seen } = await send("/claims?tenant=forged", {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(status, 200);
    assert.equal(seen.headers["x-sub"], "user-9");
    assert.equal(seen.headers["x-org"], "acme");
    assert.equal(seen.headers["x-ip"], "127.0.0.1");
    assert.equal(seen.url, "/claims?tenant=acme");
  });

  it("edits query arguments, keeping the untouched ones as the client spelt them", async () => {
    const { seen } = await send("/q?keep=a%2Fb&drop=1&old=v&sort=desc&limit=99&tag=a&sort=x", {
      headers: { "x-from": "mail" },
    });
    assert.equal(
      seen.url,
      "/q?keep=a%2Fb&new=v&sort=asc&tag=a&limit=10&page=1&from=mail&tag=b%20c",
    );
    const second = await send("/q?page=5");
    assert.equal(
      second.seen.url,
      "/q?page=5&limit=10&tag=b%20c",
      "add leaves an argument present; from skipped",
    );
  });

  it("rewrites the method and the path, encoding what the path template reads", async () => {
    const { seen } = await send("/old/a%20b?x=1");
    assert.equal(seen.method, "POST");
    assert.equal(seen.url, "/v2/items/a%20b?x=1");
    // A value that would end the path early stays encoded.
    const question = await send("/old/a%3Fb%23c");
    assert.equal(question.seen.url, "/v2/items/a%3Fb%23c");
  });

  it("edits JSON body fields by dotted path and fixes the length", async () => {
    const body = JSON.stringify({
      name: "Ann",
      password: "p",
      user: { ssn: "1", id: 5 },
      source: "client",
    });
    const { status, seen } = await send("/b", {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body,
    });
    assert.equal(status, 200);
    assert.deepEqual(JSON.parse(seen.body), {
      user: { id: 5, fullName: "Ann" },
      source: "gateway",
      meta: { client: "127.0.0.1", version: 2 },
      count: 3,
    });
    assert.notEqual(seen.framing, `length ${Buffer.byteLength(body)}`, "not the client's length");
  });

  it("edits a chunked JSON body", async () => {
    const parts = ['{"name":', '"Bo",', '"password":"x"}'];
    const { status, seen } = await send("/b", {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: Readable.from(parts.map((part) => Buffer.from(part))),
    });
    assert.equal(status, 200);
    assert.deepEqual(JSON.parse(seen.body).user, { fullName: "Bo" });
    assert.equal(JSON.parse(seen.body).password, undefined);
  });

  it("passes bodies that are not JSON, or not parsable, untouched", async () => {
    const text = await send("/b", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: '{"password":"x"}',
    });
    assert.equal(text.seen.body, '{"password":"x"}');
    assert.equal(text.seen.framing, "length 16", "a body left alone keeps its length");
    const broken = await send("/b", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    assert.equal(broken.seen.body, "{nope");
    const metrics = await (await request(`${gw.statusUrl}/metrics`)).body.text();
    assert.match(
      metrics,
      /gatehouse_body_transform_skipped_total\{route="body",plugin="request-transformer",reason="unparsable"\} 1\n/,
    );
  });

  it("refuses a compressed JSON body with 415, and a body over the bound with 413", async () => {
    const zipped = await send("/b", {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: gzipSync('{"a":1}'),
    });
    assert.equal(zipped.status, 415);
    assert.equal(JSON.parse(zipped.text).error.code, "GATEHOUSE_BODY_ENCODING_UNSUPPORTED");
    const big = JSON.stringify({ pad: "x".repeat(2000) });
    const declared = await send("/b", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: big,
    });
    assert.equal(declared.status, 413);
    const before = up.requests.length;
    const chunked = await send("/b", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: Readable.from([Buffer.from(big.slice(0, 900)), Buffer.from(big.slice(900))]),
    });
    assert.equal(chunked.status, 413);
    assert.equal(JSON.parse(chunked.text).error.code, "GATEHOUSE_BODY_TOO_LARGE");
    assert.ok(up.requests.length - before <= 1);
  });

  it("edits an HTTP/2 request's headers and its JSON body sent without a length", async () => {
    const h2 = await startGateway(
      testConfig({
        gateway: { listen: [{ host: "127.0.0.1", port: 0, http2: true }] },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "h2",
            match: { paths: ["/b/:id"] },
            service: "svc",
            plugins: [
              {
                name: "request-transformer",
                config: {
                  headers: { set: { "x-id": "$(path.id)" } },
                  body: { set: { id: "$(path.id)" } },
                },
              },
            ],
          },
        ],
      }),
    );
    const session = connect(h2.url);
    try {
      const answer = await h2Request(
        session,
        { ":method": "POST", ":path": "/b/9", "content-type": "application/json" },
        ['{"a":', "1}"],
      );
      assert.equal(answer.status, 200);
      const seen = JSON.parse(answer.body) as Seen;
      assert.equal(seen.headers["x-id"], "9");
      assert.deepEqual(JSON.parse(seen.body), { a: 1, id: "9" });
    } finally {
      session.close();
      await h2.stop();
    }
  });

  it("refuses bad templates and edits of framing headers when the config loads", async () => {
    const config = (pluginConfig: Record<string, unknown>) =>
      testConfig({
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "r",
            match: { paths: ["/*"] },
            service: "svc",
            plugins: [{ name: "request-transformer", config: pluginConfig }],
          },
        ],
      });
    await assert.rejects(
      startGateway(config({ headers: { set: { "x-a": "$(nope.x)" } } })),
      /unknown source "nope"/,
    );
    await assert.rejects(
      startGateway(config({ body: { set: { a: "$(header.x" } } })),
      /not closed/,
    );
    await assert.rejects(
      startGateway(config({ headers: { remove: ["Content-Length"] } })),
      /sets this header itself/,
    );
    await assert.rejects(
      startGateway(config({ body: { remove: ["a.__proto__"] } })),
      /cannot be edited/,
    );
    await assert.rejects(startGateway(config({ path: "v2" })), /must start with \//);
    await assert.rejects(
      startGateway(config({ headers: { set: { "x-a": "one\r\nx-injected: two" } } })),
      /cannot hold control characters/,
    );
  });
});
