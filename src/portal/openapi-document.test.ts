import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CatalogService } from "./catalog.ts";
import { aggregatedDocument, serviceDocument } from "./openapi-document.ts";

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is walked as plain JSON
type Json = Record<string, any>;

const service = (name: string, schema: Record<string, unknown>): CatalogService => ({
  name,
  title: name,
  routes: [],
  paths: {
    [`/${name}`]: {
      get: {
        responses: {
          "200": {
            description: "ok",
            content: { "application/json": { schema: { $ref: "#/components/schemas/Item" } } },
          },
          "401": { description: "no", $ref: "#/components/schemas/GatehouseError" },
        },
      },
    },
  },
  components: { schemas: { Item: schema } },
  securitySchemes: { jwt: { type: "http", scheme: "bearer" } },
});

describe("portal documents", () => {
  it("serve from the gateway itself, with the gateway's error schema", () => {
    const doc = serviceDocument(service("books", { type: "object" }));
    assert.equal(doc.openapi, "3.1.0");
    assert.deepEqual(doc.servers, [{ url: "/" }]);
    const components = doc.components as Record<string, Record<string, unknown>>;
    assert.ok(components.schemas!.GatehouseError);
    assert.ok(components.securitySchemes!.jwt);
    assert.match((doc.info as { version: string }).version, /^[0-9a-f]{12}$/);
  });

  it("prefix a service's components when another service named one alike differently", () => {
    const doc = aggregatedDocument(
      {
        services: [
          service("books", { type: "object" }),
          service("films", { type: "string" }),
          service("songs", { type: "object" }),
        ],
      },
      { title: "All" },
    );
    const schemas = (doc.components as Record<string, Record<string, unknown>>).schemas!;
    assert.deepEqual(Object.keys(schemas).sort(), ["GatehouseError", "Item", "films.Item"]);
    const paths = doc.paths as Record<string, Record<string, Json>>;
    const films = paths["/films"]!.get!.responses;
    assert.equal(
      films["200"].content["application/json"].schema.$ref,
      "#/components/schemas/films.Item",
    );
    assert.equal(films["401"].$ref, "#/components/schemas/GatehouseError");
    assert.equal(
      paths["/songs"]!.get!.responses["200"].content["application/json"].schema.$ref,
      "#/components/schemas/Item",
    );
    assert.deepEqual(
      (doc.tags as { name: string }[]).map((tag) => tag.name),
      ["books", "films", "songs"],
    );
  });

  it("keep operationIds unique when one operation is served at two paths", () => {
    const twice = service("books", { type: "object" });
    twice.paths = {
      "/books/{id}": { get: { operationId: "getBook", responses: {} } },
      "/v1/books/{id}": { get: { operationId: "getBook", responses: {} } },
    };
    const paths = serviceDocument(twice).paths as Record<string, Json>;
    assert.deepEqual(
      [paths["/books/{id}"]!.get.operationId, paths["/v1/books/{id}"]!.get.operationId],
      ["getBook", "getBook_2"],
    );
  });
});
