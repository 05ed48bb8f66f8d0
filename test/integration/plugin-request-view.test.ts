// A plugin reads the request through ctx.request (method, path, query, headers, client
// address, protocol), not the Node request object: over real sockets it sees what the
// client sent, on HTTP/1.1 and HTTP/1.0 alike, and the key-auth plugin finds a key in
// the query through the same view.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { z } from "zod";
import type { Gateway } from "../../src/gateway.ts";
import { createGateway } from "../../src/index.ts";
import { definePlugin } from "../../src/pipeline/plugin.ts";
import type { RequestView } from "../../src/pipeline/request-view.ts";
import { testConfig } from "../helpers/gateway.ts";
import { rawRequest } from "../helpers/raw.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

/** Answers with what the view shows. */
const viewer = definePlugin({
  name: "viewer",
  schema: z.strictObject({}),
  priority: 10,
  create: () => ({
    access(ctx) {
      const view: RequestView = ctx.request;
      const { method, path, query, clientAddress, protocol } = view;
      ctx.respond(200, {
        method,
        path,
        query,
        clientAddress,
        protocol,
        hello: view.headers["x-hello"],
      });
    },
  }),
});

describe("ctx.request: one view of the request for every protocol", () => {
  let up: Upstream;
  let gateway: Gateway;
  let port: number;

  before(async () => {
    up = await startUpstream(echo);
    gateway = await createGateway(
      testConfig({
        services: [{ name: "s", targets: [{ url: up.url }] }],
        consumers: [{ name: "ann", credentials: { keys: ["k-ann-123456"] } }],
        routes: [
          {
            name: "view",
            match: { paths: ["/view/*"] },
            service: "s",
            plugins: [{ name: "viewer" }],
          },
          {
            name: "keyed",
            match: { paths: ["/keyed"] },
            service: "s",
            plugins: [{ name: "key-auth", config: { query: "apikey" } }],
          },
        ],
      }),
      { plugins: [viewer] },
    );
    port = gateway.addresses().proxy[0]!.port;
  });

  after(async () => {
    await gateway?.stop();
    await up?.close();
  });

  it("shows an HTTP/1.1 request's method, normalised path, query, headers and client", async () => {
    const res = await request(`http://127.0.0.1:${port}/view/a/../b?x=1&y=2`, {
      method: "PATCH",
      headers: { "x-hello": "there" },
    });
    assert.deepEqual(await res.body.json(), {
      method: "PATCH",
      path: "/view/b",
      query: "x=1&y=2",
      clientAddress: "127.0.0.1",
      protocol: "HTTP/1.1",
      hello: "there",
    });
  });

  it("shows an HTTP/1.0 request the same way, with its protocol", async () => {
    const res = await rawRequest(port, "GET /view/c HTTP/1.0\r\nHost: x\r\n\r\n");
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body) as Record<string, unknown>;
    assert.equal(seen.protocol, "HTTP/1.0");
    assert.equal(seen.query, "");
    assert.equal(seen.path, "/view/c");
  });

  it("lets key-auth read its key from the view's query", async () => {
    const ok = await request(`http://127.0.0.1:${port}/keyed?apikey=k-ann-123456`);
    assert.equal(ok.statusCode, 200);
    await ok.body.dump();
    const refused = await request(`http://127.0.0.1:${port}/keyed?apikey=wrong`);
    assert.equal(refused.statusCode, 401);
    await refused.body.dump();
  });
});
