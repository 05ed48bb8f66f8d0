// The developer portal on a real gateway in front of a real upstream: the aggregated
// document lists the published routes' operations only (nothing unpublished, nothing of
// the admin API or the status listener), with their security and rate limits; a service's
// own OpenAPI file is mapped to gateway paths through stripPrefix; a plugin's openapi()
// is published; the portal's path is reserved; a reload changes the catalog; the portal
// answers with the gateway's headers and JSON errors.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { compileErrors, validate as validateOpenApi } from "@readme/openapi-parser";
import { z } from "zod";
import { configOriginOf } from "../../src/config/document.ts";
import { Gateway } from "../../src/gateway.ts";
import { createGateway } from "../../src/index.ts";
import { definePlugin } from "../../src/pipeline/plugin.ts";
import { parseGatewayConfig, validateConfigFile } from "../../src/runtime/validate.ts";
import { configProblems } from "../helpers/config-problems.ts";
import { testConfig } from "../helpers/gateway.ts";
import { fixtureProtoDir } from "../helpers/library-protos.ts";
import { rawRequest } from "../helpers/raw.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is walked as plain JSON
type Json = Record<string, any>;

const usersOpenApi = `openapi: 3.1.0
info: { title: Users upstream, version: 2.4.0 }
servers: [{ url: "http://10.0.0.7:9001" }]
paths:
  /users:
    get:
      summary: List users
      responses: { "200": { description: The users, content: { application/json: { schema: { $ref: "#/components/schemas/UserList" } } } } }
    post:
      summary: Create a user
      responses: { "201": { description: Created } }
  /users/{id}:
    parameters: [{ name: id, in: path, required: true, schema: { type: string } }]
    get:
      summary: One user
      responses: { "200": { description: The user } }
  /metrics:
    get:
      summary: Internal metrics
      responses: { "200": { description: Metrics } }
components:
  schemas:
    UserList: { type: array, items: { type: object, properties: { id: { type: string } } } }
  securitySchemes:
    upstreamSecret: { type: apiKey, in: header, name: x-internal-token }
`;

/** A config with the portal, two services (one with its own document), one unpublished route. */
function configText(upstream: string, extraRoute = ""): string {
  return `gateway:
  listen: [{ host: 127.0.0.1, port: 0 }]
  status: { host: 127.0.0.1, port: 0 }
  admin: { host: 127.0.0.1, port: 0 }
  accessLog: { enabled: false }
  log: { level: silent }
  portal: { title: Acme APIs, description: "Everything Acme offers." }
consumers:
  - name: alice
    credentials: { keys: ["alice-secret-key"] }
services:
  - name: users
    title: Users
    description: People who use the shop.
    openapi: users-openapi.yaml
    targets: [{ url: "${upstream}" }]
  - name: orders
    title: Orders
    targets: [{ url: "${upstream}" }]
routes:
  - name: users-api
    portal: true
    match: { paths: ["/api/users", "/api/users/*"], methods: [GET] }
    service: users
    stripPrefix: /api
    plugins: [{ name: key-auth, config: { query: apikey } }]
  - name: orders-api
    portal: true
    match: { paths: ["/orders/:id"], methods: [GET, DELETE] }
    service: orders
    plugins:
      - name: rate-limit
        config: { limit: 100, window: 1m, by: ip }
  - name: orders-internal
    match: { paths: ["/internal/orders/*"] }
    service: orders
${extraRoute}`;
}

describe("developer portal", () => {
  let dir: string;
  let up: Upstream;
  let gateway: Gateway;
  let url: string;
  let file: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-portal-"));
    up = await startUpstream(echo);
    await writeFile(join(dir, "users-openapi.yaml"), usersOpenApi);
    file = join(dir, "gatehouse.yaml");
    await writeFile(file, configText(up.url));
    gateway = new Gateway(await validateConfigFile(file, {}));
    await gateway.start();
    url = `http://127.0.0.1:${gateway.addresses().proxy[0]!.port}`;
  });
  after(async () => {
    await gateway?.stop();
    await up?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const document = async (path = "/docs/openapi.json"): Promise<Json> => {
    const answer = await fetch(`${url}${path}`);
    assert.equal(answer.status, 200, path);
    assert.equal(answer.headers.get("content-type"), "application/json; charset=utf-8");
    assert.equal(answer.headers.get("cache-control"), "no-cache");
    return (await answer.json()) as Json;
  };

  it("lists the published operations and nothing else", async () => {
    const doc = await document();
    assert.equal(doc.openapi, "3.1.0");
    assert.deepEqual(doc.servers, [{ url: "/" }]);
    assert.equal(doc.info.title, "Acme APIs");
    const operations = Object.entries(doc.paths as Json).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    // users: the upstream's GET operations at gateway paths; its POST (the route takes GET
    // only) and /metrics (no published route takes /api/metrics) are left out. orders:
    // made from the route; its unpublished route is not there.
    assert.deepEqual(operations.sort(), [
      "DELETE /orders/{id}",
      "GET /api/users",
      "GET /api/users/{id}",
      "GET /orders/{id}",
    ]);
    const text = JSON.stringify(doc);
    for (const hidden of ["internal", "10.0.0.7", "127.0.0.1", "alice-secret-key", "/config"])
      assert.ok(!text.includes(hidden), `the document does not mention ${hidden}`);
  });

  it("watches the service's document file as part of the config", () => {
    const files = configOriginOf(gateway.runtime.config)?.dependsOn?.files ?? [];
    assert.deepEqual(files, [join(dir, "users-openapi.yaml")]);
  });

  it("serves valid OpenAPI 3.1 documents whose references resolve", async () => {
    for (const path of [
      "/docs/openapi.json",
      "/docs/services/users/openapi.json",
      "/docs/services/orders/openapi.json",
    ]) {
      const doc = await document(path);
      const result = await validateOpenApi(structuredClone(doc) as never);
      assert.ok(result.valid, result.valid ? "" : `${path}: ${compileErrors(result)}`);
    }
  });

  it("maps the service's own document through stripPrefix, keeping its schemas", async () => {
    const doc = await document("/docs/services/users/openapi.json");
    assert.equal(doc.info.title, "Users");
    assert.equal(doc.info.version, "2.4.0");
    const list = doc.paths["/api/users"].get;
    assert.equal(list.summary, "List users");
    assert.equal(
      list.responses["200"].content["application/json"].schema.$ref,
      "#/components/schemas/UserList",
    );
    assert.ok(doc.components.schemas.UserList);
    assert.deepEqual(doc.paths["/api/users/{id}"].get.parameters[0].name, "id");
    assert.equal(doc.components.securitySchemes.upstreamSecret, undefined);
    assert.equal(doc.paths["/orders/{id}"], undefined, "only this service's operations");
  });

  it("shows each operation's authentication and rate limit", async () => {
    const doc = await document();
    const users = doc.paths["/api/users"].get;
    assert.deepEqual(users.security, [
      { "key-auth.header.x-api-key": [] },
      { "key-auth.query.apikey": [] },
    ]);
    assert.deepEqual(doc.components.securitySchemes["key-auth.header.x-api-key"], {
      type: "apiKey",
      in: "header",
      name: "x-api-key",
      description: "An API key.",
    });
    assert.equal(doc.components.securitySchemes["key-auth.query.apikey"].in, "query");
    const order = doc.paths["/orders/{id}"].get;
    assert.deepEqual(order["x-gatehouse-rate-limit"], [{ limit: 100, window: "1m", by: "ip" }]);
    assert.match(order.description, /100 requests per 1m per ip/);
    assert.deepEqual(order.security, []);
    assert.ok(order.responses["429"]);
    assert.deepEqual(order.parameters, [
      { name: "id", in: "path", required: true, schema: { type: "string" } },
    ]);
  });

  it("serves the page, its assets, and JSON errors under its path", async () => {
    const page = await fetch(`${url}/docs`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
    assert.match(html, /<h2>Users <small>2\.4\.0<\/small><\/h2>/);
    assert.match(html, /API key \(header x-api-key\)/);
    assert.match(html, /100 requests per 1m per ip/);
    assert.doesNotMatch(html, /internal/);
    const script = /src="(\/docs\/assets\/[^"]+\/swagger-ui-bundle\.js)"/.exec(html)![1]!;
    const asset = await fetch(`${url}${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get("cache-control") ?? "", /immutable/);
    assert.ok((await asset.arrayBuffer()).byteLength > 100_000);
    assert.equal((await fetch(`${url}/docs/`)).status, 200);
    const missing = await fetch(`${url}/docs/services/nope/openapi.json`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as Json).error.code, "GATEHOUSE_ROUTE_NOT_FOUND");
    const post = await fetch(`${url}/docs/openapi.json`, { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    // The published API itself still goes through the gateway's routes.
    const call = await fetch(`${url}/api/users?apikey=alice-secret-key`);
    assert.equal(call.status, 200);
    assert.equal(((await call.json()) as Json).url, "/users");
  });

  it("checks a request's framing before it serves it", async () => {
    const port = gateway.addresses().proxy[0]!.port;
    const noHost = await rawRequest(port, "GET /docs HTTP/1.1\r\n\r\n");
    assert.equal(noHost.status, 400);
    assert.match(noHost.body, /GATEHOUSE_BAD_HOST/);
    const twoLengths = await rawRequest(
      port,
      "GET /docs/openapi.json HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
    );
    assert.equal(twoLengths.status, 400);
    assert.match(twoLengths.body, /GATEHOUSE_BAD_FRAMING/);
  });

  it("follows a reload: a newly published route appears", async () => {
    const before = await document();
    assert.equal(before.paths["/status/{rest}"], undefined);
    const next = configText(
      up.url,
      `  - name: status-api
    portal: true
    match: { paths: ["/status/*"], methods: [GET] }
    service: orders
`,
    );
    await gateway.reload(parseGatewayConfig(next, file, {}));
    const after = await document();
    assert.ok(after.paths["/status/{rest}"].get, "the new route is listed");
    assert.ok(after.paths["/api/users"].get, "the others stay");
  });
});

describe("developer portal config", () => {
  it("refuses a route under the portal's path, at its line and column", () => {
    const problems = configProblems(`gateway:
  listen: [{ host: 127.0.0.1, port: 8080 }]
  portal: { path: /developers }
services: [{ name: s, targets: [{ url: "http://127.0.0.1:9001" }] }]
routes:
  - name: r
    match: { paths: ["/api", "/developers/keys"] }
    service: s
`);
    assert.deepEqual(problems, [
      'gw.yaml:7:30 routes[0].match.paths[1]: "/developers/keys" is the developer portal\'s (gateway.portal.path is "/developers"): give the route another path, or the portal another path',
    ]);
  });
});

describe("developer portal and plugins", () => {
  it("publishes what a plugin's openapi() describes for a published route", async () => {
    const up = await startUpstream(echo);
    const described = definePlugin({
      name: "described",
      schema: z.strictObject({}),
      priority: 10,
      create: () => ({
        openapi: () => ({
          paths: {
            "/v1/things/{thing}": {
              get: {
                summary: "Get a thing",
                responses: {
                  "200": {
                    description: "The thing",
                    content: {
                      "application/json": { schema: { $ref: "#/components/schemas/Thing" } },
                    },
                  },
                },
              },
            },
          },
          schemas: { Thing: { type: "object", properties: { name: { type: "string" } } } },
        }),
      }),
    });
    const gateway = await createGateway(
      testConfig({
        gateway: { portal: { publish: "all" } },
        services: [{ name: "things", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "things",
            match: { paths: ["/v1/things/*"] },
            service: "things",
            plugins: [{ name: "described" }],
          },
        ],
      }),
      { plugins: [described] },
    );
    try {
      const port = gateway.addresses().proxy[0]!.port;
      const doc = (await (
        await fetch(`http://127.0.0.1:${port}/docs/openapi.json`)
      ).json()) as Json;
      assert.deepEqual(Object.keys(doc.paths), ["/v1/things/{thing}"]);
      assert.equal(doc.paths["/v1/things/{thing}"].get.summary, "Get a thing");
      assert.deepEqual(doc.paths["/v1/things/{thing}"].get.tags, ["things"]);
      assert.ok(doc.components.schemas.Thing);
    } finally {
      await gateway.stop();
      await up.close();
    }
  });
});

describe("developer portal with worker threads", () => {
  it("is served by every worker from its own runtime", async () => {
    const up = await startUpstream(echo);
    const gateway = await createGateway(
      testConfig({
        gateway: { portal: {}, workers: 2 },
        services: [{ name: "users", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "users-api",
            portal: true,
            match: { paths: ["/api/users/:id"], methods: ["GET"] },
            service: "users",
          },
        ],
      }),
    );
    try {
      const port = gateway.addresses().proxy[0]!.port;
      // Fresh connections, so both workers' listeners (sharing the port) are asked.
      for (let i = 0; i < 6; i++) {
        const answer = await fetch(`http://127.0.0.1:${port}/docs/openapi.json`, {
          headers: { connection: "close" },
        });
        assert.deepEqual(Object.keys(((await answer.json()) as Json).paths), ["/api/users/{id}"]);
      }
    } finally {
      await gateway.stop();
      await up.close();
    }
  });
});

describe("developer portal and grpc-transcode", () => {
  it("publishes a transcoded route's bindings with the route's security", async () => {
    const gateway = await createGateway(
      testConfig({
        gateway: { portal: {} },
        consumers: [{ name: "alice", credentials: { keys: ["alice-secret-key"] } }],
        services: [{ name: "library", protocol: "grpc", targets: [{ url: "http://127.0.0.1:1" }] }],
        routes: [
          {
            name: "books",
            portal: true,
            match: { paths: ["/v1/*"] },
            service: "library",
            plugins: [
              { name: "key-auth" },
              {
                name: "grpc-transcode",
                config: {
                  protos: [join(fixtureProtoDir, "library/v1/library.proto")],
                  includeDirs: [fixtureProtoDir],
                },
              },
            ],
          },
        ],
      }),
    );
    try {
      const port = gateway.addresses().proxy[0]!.port;
      const doc = (await (
        await fetch(`http://127.0.0.1:${port}/docs/openapi.json`)
      ).json()) as Json;
      const book = doc.paths["/v1/shelves/{shelves}/books/{books}"]?.get;
      assert.ok(book, `GET a book is published (${Object.keys(doc.paths).join(", ")})`);
      assert.deepEqual(book.tags, ["library"]);
      assert.deepEqual(book.security, [{ "key-auth.header.x-api-key": [] }]);
      assert.ok(doc.components.schemas["library.v1.Book"]);
      const result = await validateOpenApi(structuredClone(doc) as never);
      assert.ok(result.valid, result.valid ? "" : compileErrors(result));
    } finally {
      await gateway.stop();
    }
  });
});
