import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PathMatcher } from "./path-matcher.ts";
import { parsePathTemplate } from "./path-template.ts";

function matcher(...bindings: [string, string][]): PathMatcher<string> {
  const paths = new PathMatcher<string>();
  for (const [method, template] of bindings) {
    paths.add(method, parsePathTemplate(template), `${method} ${template}`);
  }
  return paths;
}

describe("PathMatcher", () => {
  it("returns the binding and the variables' values", () => {
    const paths = matcher(["GET", "/v1/{parent=shelves/*}/books/{id}"]);
    assert.deepEqual(paths.match("GET", "/v1/shelves/s1/books/b2"), {
      value: "GET /v1/{parent=shelves/*}/books/{id}",
      variables: ["shelves/s1", "b2"],
    });
    assert.equal(paths.match("POST", "/v1/shelves/s1/books/b2"), undefined);
    assert.equal(paths.match("GET", "/v1/shelves/s1/books"), undefined);
    assert.equal(paths.match("GET", "/v1/shelves/s1/books/b2/extra"), undefined);
    assert.equal(paths.match("GET", "/v1/shelves//books/b2"), undefined, "* needs a segment");
  });

  it("prefers literals over *, * over **, and a verb over none, whatever the order added", () => {
    const paths = matcher(
      ["GET", "/v1/{name=**}"],
      ["GET", "/v1/{name=shelves/*}"],
      ["GET", "/v1/shelves/special"],
      ["GET", "/v1/{name=shelves/*}:count"],
    );
    assert.equal(paths.match("GET", "/v1/shelves/special")?.value, "GET /v1/shelves/special");
    assert.equal(paths.match("GET", "/v1/shelves/s1")?.value, "GET /v1/{name=shelves/*}");
    assert.equal(paths.match("GET", "/v1/a/b/c")?.value, "GET /v1/{name=**}");
    assert.deepEqual(paths.match("GET", "/v1/shelves/s1:count"), {
      value: "GET /v1/{name=shelves/*}:count",
      variables: ["shelves/s1"],
    });
  });

  it("lets ** take the rest of the path, including nothing", () => {
    const paths = matcher(["GET", "/v1/files/{path=**}"]);
    assert.deepEqual(paths.match("GET", "/v1/files/a/b/c.txt")?.variables, ["a/b/c.txt"]);
    assert.deepEqual(paths.match("GET", "/v1/files")?.variables, [""]);
  });

  it("decodes a one-segment variable fully, and keeps %2F in a multi-segment one", () => {
    const paths = matcher(["GET", "/v1/books/{id}"], ["GET", "/v1/{name=shelves/*}"]);
    assert.deepEqual(paths.match("GET", "/v1/books/a%2Fb%20c")?.variables, ["a/b c"]);
    assert.deepEqual(paths.match("GET", "/v1/shelves/a%2Fb%20c")?.variables, ["shelves/a%2Fb c"]);
    assert.equal(paths.match("GET", "/v1/books/%E0%A4%A"), undefined, "malformed escape");
  });

  it("matches literals after decoding them", () => {
    const paths = matcher(["GET", "/v1/shelves"]);
    assert.ok(paths.match("GET", "/v1/%73helves"));
  });

  it("knows the methods a path is bound for (for 405 Allow)", () => {
    const paths = matcher(
      ["GET", "/v1/shelves/{id}"],
      ["DELETE", "/v1/shelves/{id}"],
      ["POST", "/v1/shelves"],
    );
    assert.deepEqual(paths.methodsFor("/v1/shelves/1"), ["GET", "DELETE"]);
    assert.deepEqual(paths.methodsFor("/v2"), []);
  });
});
