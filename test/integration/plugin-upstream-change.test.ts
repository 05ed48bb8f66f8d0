// A plugin sends the request to another method, path, query or service than its route
// says (ctx.setUpstream), over real sockets: the route's rewrite applies when the plugin
// leaves the path alone, a plugin's path replaces it, removed query arguments stay
// removed, and a service the config lacks answers 500 without calling any upstream.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { z } from "zod";
import type { Gateway } from "../../src/gateway.ts";
import { createGateway } from "../../src/index.ts";
import { definePlugin } from "../../src/pipeline/plugin.ts";
import { testConfig } from "../helpers/gateway.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

/** Moves the request as its `x-move-*` headers say. */
const mover = definePlugin({
  name: "mover",
  schema: z.strictObject({}),
  priority: 10,
  create: () => ({
    access(ctx) {
      ctx.removeQueryParam("secret");
    },
    beforeUpstream(ctx) {
      const header = (name: string) => {
        const value = ctx.req.headers[`x-move-${name}`];
        return typeof value === "string" ? value : undefined;
      };
      const [method, path, query, service] = ["method", "path", "query", "service"].map(header);
      if (method) ctx.setUpstream({ method });
      if (path) ctx.setUpstream({ path });
      if (query !== undefined) ctx.setUpstream({ query });
      if (service) ctx.setUpstream({ service });
    },
  }),
});

interface Seen {
  method: string;
  url: string;
}

describe("ctx.setUpstream: another method, path, query or service", () => {
  let first: Upstream;
  let second: Upstream;
  let gateway: Gateway;
  let base: string;

  before(async () => {
    first = await startUpstream(echo);
    second = await startUpstream(echo);
    gateway = await createGateway(
      testConfig({
        services: [
          { name: "first", targets: [{ url: first.url }] },
          { name: "second", targets: [{ url: second.url }] },
        ],
        routes: [
          {
            name: "r",
            match: { paths: ["/items/:id"] },
            rewrite: "/v2/items/:id",
            service: "first",
            plugins: [{ name: "mover" }],
          },
        ],
      }),
      { plugins: [mover] },
    );
    base = `http://127.0.0.1:${gateway.addresses().proxy[0]!.port}`;
  });

  after(async () => {
    await gateway?.stop();
    await first?.close();
    await second?.close();
  });

  async function send(headers: Record<string, string>, path = "/items/7?a=1&secret=s") {
    const res = await request(`${base}${path}`, { headers });
    return { status: res.statusCode, body: (await res.body.json()) as Seen };
  }

  it("keeps the route's rewrite and service when the plugin changes nothing", async () => {
    const { body } = await send({});
    assert.deepEqual([body.method, body.url], ["GET", "/v2/items/7?a=1"]);
    assert.equal(first.requests.length, 1);
  });

  it("changes the method and keeps the rewritten path", async () => {
    const { body } = await send({ "x-move-method": "DELETE" });
    assert.deepEqual([body.method, body.url], ["DELETE", "/v2/items/7?a=1"]);
  });

  it("replaces the rewritten path and the query, still leaving out removed arguments", async () => {
    const { body } = await send({ "x-move-path": "/elsewhere", "x-move-query": "b=2&secret=t" });
    assert.deepEqual([body.method, body.url], ["GET", "/elsewhere?b=2"]);
  });

  it("clears the query with an empty one", async () => {
    const { body } = await send({ "x-move-query": "" });
    assert.equal(body.url, "/v2/items/7");
  });

  it("sends the request to another service of the config", async () => {
    const before = first.requests.length;
    const { body } = await send({ "x-move-service": "second", "x-move-method": "PUT" });
    assert.deepEqual([body.method, body.url], ["PUT", "/v2/items/7?a=1"]);
    assert.equal(second.requests.length, 1);
    assert.equal(first.requests.length, before);
  });

  it("answers 500 for a service the config lacks, calling no upstream", async () => {
    const calls = first.requests.length + second.requests.length;
    const res = await request(`${base}/items/7`, { headers: { "x-move-service": "nowhere" } });
    assert.equal(res.statusCode, 500);
    const body = (await res.body.json()) as { error: { code: string } };
    assert.equal(body.error.code, "GATEHOUSE_INTERNAL");
    assert.equal(first.requests.length + second.requests.length, calls);
  });

  it("answers 500 for a path that does not start with /", async () => {
    const res = await request(`${base}/items/7`, { headers: { "x-move-path": "relative" } });
    assert.equal(res.statusCode, 500);
    await res.body.dump();
  });
});
