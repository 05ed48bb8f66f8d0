// Parameters read back as OpenAPI serialises them (the styles docs/plugins.md says are
// supported), then checked with their schemas; the operation found by method and path.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadSpec } from "./load-spec.ts";
import { checkParameters } from "./request-check.ts";
import { requestValidationSchema } from "./schema.ts";

const integers = { type: "array", items: { type: "integer" } };
const spec = {
  openapi: "3.1.0",
  info: { title: "styles", version: "1" },
  paths: {
    "/things/{ids}": {
      get: {
        parameters: [
          { name: "ids", in: "path", required: true, schema: integers },
          { name: "form", in: "query", schema: integers },
          { name: "csv", in: "query", explode: false, schema: integers },
          {
            name: "spaced",
            in: "query",
            style: "spaceDelimited",
            explode: false,
            schema: integers,
          },
          { name: "piped", in: "query", style: "pipeDelimited", explode: false, schema: integers },
          {
            name: "filter",
            in: "query",
            style: "deepObject",
            schema: {
              type: "object",
              properties: { size: { type: "integer" } },
              additionalProperties: false,
            },
          },
          {
            name: "where",
            in: "query",
            content: { "application/json": { schema: { type: "object", required: ["a"] } } },
          },
          { name: "X-Flags", in: "header", schema: { type: "array", items: { type: "boolean" } } },
          { name: "Content-Type", in: "header", required: true, schema: { const: "never" } },
          { name: "theme", in: "cookie", schema: { enum: ["dark", "light"] } },
        ],
        responses: { "200": { description: "ok" } },
      },
    },
    "/things/{ids}/parts": { post: { responses: { "200": { description: "ok" } } } },
  },
};

const loaded = loadSpec(requestValidationSchema.parse({ spec }), process.cwd());

function problems(path: string, query: string, headers: Record<string, string> = {}) {
  const found = loaded.router.match("GET", path);
  assert.equal(found.kind, "operation");
  if (found.kind !== "operation") return [];
  return checkParameters(found.operation, found.pathParams, query, headers);
}

describe("request-validation parameters", () => {
  it("reads every supported style, and accepts what its schema allows", () => {
    const query =
      "form=1&form=2&csv=3,4&spaced=5%206&piped=7|8&filter[size]=9&where=%7B%22a%22%3A1%7D";
    const headers = { "x-flags": "true,false", cookie: "theme=dark; other=1" };
    assert.deepEqual(problems("/things/1,2", query, headers), []);
  });

  it("names each value that does not fit, by its place in the parameter", () => {
    const query =
      "form=1&form=x&csv=3,y&spaced=5%20z&piped=7|w&filter[size]=big&filter[color]=red&where=%7B%7D";
    const headers = { "x-flags": "true,maybe", cookie: "theme=pink" };
    assert.deepEqual(problems("/things/1,b", query, headers), [
      { in: "path", pointer: "/ids/1", message: "must be integer" },
      { in: "query", pointer: "/form/1", message: "must be integer" },
      { in: "query", pointer: "/csv/1", message: "must be integer" },
      { in: "query", pointer: "/spaced/1", message: "must be integer" },
      { in: "query", pointer: "/piped/1", message: "must be integer" },
      { in: "query", pointer: "/filter/color", message: "is not allowed" },
      { in: "query", pointer: "/filter/size", message: "must be integer" },
      { in: "query", pointer: "/where/a", message: "is required" },
      { in: "header", pointer: "/X-Flags/1", message: "must be boolean" },
      { in: "cookie", pointer: "/theme", message: "must be equal to one of the allowed values" },
    ]);
  });

  it("a JSON parameter that is not JSON is a problem of its own", () => {
    assert.deepEqual(problems("/things/1", "where=%7Bnope"), [
      { in: "query", pointer: "/where", message: "is not valid JSON" },
    ]);
  });

  it("finds operations by method and path: 405 names the path's methods, 404 the rest", () => {
    assert.deepEqual(loaded.router.match("PUT", "/things/1"), {
      kind: "method-not-allowed",
      allowed: ["GET"],
    });
    assert.equal(loaded.router.match("POST", "/things/1/parts").kind, "operation");
    assert.equal(loaded.router.match("HEAD", "/things/1").kind, "operation");
    assert.deepEqual(loaded.router.match("GET", "/things"), { kind: "not-found" });
  });
});
