// The developer portal publishes none of the upstream's addresses a service's own OpenAPI
// document names, wherever it names them: top-level and operation `servers`, a path item's,
// a Link's `server`, a callback's, a `components` entry's. The operations, links and
// callbacks themselves are still published.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Gateway } from "../../src/gateway.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

const internal = "http://10.0.0.7:9001";
const document = `openapi: 3.1.0
info: { title: Orders upstream, version: 1.0.0 }
servers: [{ url: "${internal}/top" }]
paths:
  /orders/{id}:
    servers: [{ url: "${internal}/path-item" }]
    parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
    get:
      servers: [{ url: "${internal}/operation" }]
      responses:
        "200":
          description: The order
          links:
            items: { operationId: listItems, server: { url: "${internal}/link" } }
      callbacks:
        shipped:
          "{$request.body#/callback}":
            servers: [{ url: "${internal}/callback-item" }]
            post:
              servers: [{ url: "${internal}/callback-operation" }]
              responses: { "204": { description: Noted } }
components:
  links:
    Items: { operationId: listItems, server: { url: "${internal}/component-link" } }
  responses:
    Gone:
      description: Gone
      links: { again: { operationId: listItems, server: { url: "${internal}/component-response" } } }
  pathItems:
    Shared: { servers: [{ url: "${internal}/component-path-item" }], get: { responses: { "200": { description: OK } } } }
`;

describe("developer portal and a service document's server URLs", () => {
  let dir: string;
  let up: Upstream;
  let gateway: Gateway;
  let url: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-portal-servers-"));
    up = await startUpstream(echo);
    await writeFile(join(dir, "orders-openapi.yaml"), document);
    await writeFile(
      join(dir, "gatehouse.yaml"),
      `gateway:
  listen: [{ host: 127.0.0.1, port: 0 }]
  accessLog: { enabled: false }
  log: { level: silent }
  portal: {}
services:
  - name: orders
    openapi: orders-openapi.yaml
    targets: [{ url: "${up.url}" }]
routes:
  - name: orders-api
    portal: true
    match: { paths: ["/orders/:id"], methods: [GET] }
    service: orders
`,
    );
    gateway = new Gateway(await validateConfigFile(join(dir, "gatehouse.yaml"), {}));
    await gateway.start();
    url = `http://127.0.0.1:${gateway.addresses().proxy[0]!.port}`;
  });
  after(async () => {
    await gateway?.stop();
    await up?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("names no upstream address in any document, and keeps the links and callbacks", async () => {
    for (const path of ["/docs/openapi.json", "/docs/services/orders/openapi.json"]) {
      const answer = await fetch(`${url}${path}`);
      assert.equal(answer.status, 200, path);
      const text = await answer.text();
      assert.ok(!text.includes("10.0.0.7"), `${path} names ${/10\.0\.0\.7[^"]*/.exec(text)}`);
      const doc = JSON.parse(text);
      assert.deepEqual(doc.servers, [{ url: "/" }], path);
      const get = doc.paths["/orders/{id}"].get;
      assert.deepEqual(get.responses["200"].links, { items: { operationId: "listItems" } });
      const shipped = get.callbacks.shipped["{$request.body#/callback}"];
      assert.deepEqual(Object.keys(shipped), ["post"]);
      assert.deepEqual(doc.components.links, { Items: { operationId: "listItems" } });
    }
  });
});
