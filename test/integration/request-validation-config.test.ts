// request-validation's config: a document that does not load, is not OpenAPI 3.x, has a
// broken $ref or a schema that does not compile is a config error naming the file (at its
// line and column where there is one), as `gatehouse validate` prints it; a document given
// inline (as the admin API or etcd may) validates requests like a file does.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { request } from "undici";
import { configProblems } from "../helpers/config-problems.ts";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { echo, startUpstream } from "../helpers/upstream.ts";

const dir = mkdtempSync(join(tmpdir(), "gatehouse-openapi-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function problemsWith(spec: string): string[] {
  return configProblems(`gateway: { listen: [{ port: 8080 }] }
services: [{ name: s, targets: [{ url: "http://127.0.0.1:1" }] }]
routes:
  - name: r
    match: { paths: ["/*"] }
    service: s
    plugins:
      - name: request-validation
        config: { spec: ${spec} }
`);
}

describe("request-validation config errors", () => {
  it("a file that does not exist is named at the config's spec", () => {
    const missing = join(dir, "missing.yaml");
    assert.deepEqual(problemsWith(missing), [
      `gw.yaml:9:25 routes[0].plugins[0].config.spec: ${missing}: cannot read the OpenAPI document: no such file`,
    ]);
  });

  it("Swagger 2.0, or no openapi version, is not OpenAPI 3.x", () => {
    const swagger = file(
      "swagger.yaml",
      'swagger: "2.0"\ninfo: { title: x, version: "1" }\npaths: {}\n',
    );
    assert.deepEqual(problemsWith(swagger), [
      `${swagger}:1:1 the document is Swagger 2.0; only OpenAPI 3.0 and 3.1 are supported (routes[0].plugins[0].config)`,
    ]);
    const future = file("future.yaml", "info: { title: x }\nopenapi: 4.0.0\npaths: {}\n");
    assert.deepEqual(problemsWith(future), [
      `${future}:2:10 the document declares openapi: 4.0.0; only OpenAPI 3.0 and 3.1 are supported (routes[0].plugins[0].config)`,
    ]);
  });

  it("a YAML error, a broken $ref and a schema that does not compile are located in their file", () => {
    const syntax = file("syntax.yaml", "openapi: 3.0.3\npaths:\n  /a: [\n");
    const [yamlProblem] = problemsWith(syntax);
    assert.match(yamlProblem!, new RegExp(`^${syntax}:4:1 `));
    file("shared.yaml", "Pet: { type: object }\n");
    const brokenRef = file(
      "broken-ref.yaml",
      'openapi: 3.0.3\ninfo: { title: x, version: "1" }\npaths:\n  /a:\n    get:\n      parameters:\n        - $ref: "./shared.yaml#/Nope"\n      responses: {}\n',
    );
    assert.deepEqual(problemsWith(brokenRef), [
      `${brokenRef}:7:17 $ref "./shared.yaml#/Nope" points at nothing (routes[0].plugins[0].config)`,
    ]);
    const badSchema = file(
      "bad-schema.yaml",
      "openapi: 3.1.0\npaths:\n  /a:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema: { type: strin }\n      responses: {}\n",
    );
    assert.deepEqual(problemsWith(badSchema), [
      `${badSchema}:8:21 schema does not compile: type must be JSONType or JSONType[]: strin (routes[0].plugins[0].config)`,
    ]);
  });

  it("validates with a document given inline", async () => {
    const up = await startUpstream(echo);
    const spec = {
      openapi: "3.1.0",
      info: { title: "inline", version: "1" },
      paths: {
        "/items/{id}": {
          get: {
            parameters: [
              {
                name: "id",
                in: "path",
                required: true,
                schema: { $ref: "#/components/schemas/Id" },
              },
            ],
            responses: { "200": { description: "ok" } },
          },
        },
      },
      components: { schemas: { Id: { type: "integer", maximum: 10 } } },
    };
    const gw = await startGateway(
      testConfig({
        services: [{ name: "s", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "r",
            match: { paths: ["/*"] },
            service: "s",
            plugins: [{ name: "request-validation", config: { spec } }],
          },
        ],
      }),
    );
    try {
      const ok = await request(`${gw.url}/items/3`);
      assert.equal(ok.statusCode, 200);
      await ok.body.dump();
      const bad = await request(`${gw.url}/items/11`);
      assert.equal(bad.statusCode, 400);
      assert.deepEqual(((await bad.body.json()) as { error: { details: unknown } }).error.details, {
        problems: [{ in: "path", pointer: "/id", message: "must be <= 10" }],
      });
    } finally {
      await gw.stop();
      await up.close();
    }
  });
});
