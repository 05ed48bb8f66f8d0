import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import { loadLibrary, problemsOf, protoFolder } from "../../test/helpers/library-protos.ts";

const library = loadLibrary();

/** A proto with one service whose methods are `rpcs` (each `rpc ...` line as written). */
function serviceProto(...rpcs: string[]): string {
  return `syntax = "proto3";
package p;
import "google/api/annotations.proto";
message Req { string name = 1; Inner inner = 2; repeated string tags = 3; }
message Inner { string id = 1; }
message Res { string name = 1; }
service S {
${rpcs.map((rpc) => `  ${rpc}`).join("\n")}
}
`;
}

describe("compileHttpRules", () => {
  it("binds every HTTP method, including a custom one, with its template", () => {
    const shape = (method: string, index = 0) => {
      const binding = library.binding(method, index);
      return `${binding.httpMethod} ${binding.template.source}`;
    };
    assert.equal(shape("GetShelf"), "GET /v1/shelves/{shelf_id}");
    assert.equal(shape("GetShelf", 1), "HEAD /v1/shelves/{shelf_id}");
    assert.equal(shape("CreateBook"), "POST /v1/{parent=shelves/*}/books");
    assert.equal(shape("ReplaceBook"), "PUT /v1/{name=shelves/*/books/*}");
    assert.equal(shape("UpdateBook"), "PATCH /v1/{book.name=shelves/*/books/*}");
    assert.equal(shape("DeleteBook"), "DELETE /v1/{name=shelves/*/books/*}");
  });

  it("makes a binding of each additional_bindings entry", () => {
    assert.equal(library.binding("GetBook", 1).template.source, "/v1/books/{name}");
    assert.equal(library.binding("Echo", 1).httpMethod, "GET");
    assert.ok(!library.rules.bindings.some((b) => b.method.name === "Internal"));
  });

  it("resolves body and response_body to fields, and nested path variables to field paths", () => {
    assert.equal(library.binding("ReplaceBook").body, "*");
    assert.equal(library.binding("GetBook").body, undefined);
    const create = library.binding("CreateBook").body;
    assert.equal(typeof create === "object" ? create.name : create, "book");
    assert.equal(library.binding("ArchiveBook").responseBody?.name, "book");
    const update = library.binding("UpdateBook");
    assert.deepEqual(
      update.variables[0].fields.map((f) => f.name),
      ["book", "name"],
    );
  });

  it("finds the binding for a request through the compiled matcher", () => {
    const match = library.rules.matcher.match("POST", "/v1/shelves/1/books/2:archive");
    assert.equal(match?.value.method.name, "ArchiveBook");
    assert.deepEqual(match?.variables, ["shelves/1/books/2"]);
    assert.equal(
      library.rules.matcher.match("GET", "/v1/shelves/1/books:stream")?.value.method.name,
      "StreamBooks",
    );
    assert.equal(
      library.rules.matcher.match("GET", "/v1/shelves/1/books")?.value.method.name,
      "ListBooks",
    );
  });

  it("reports two bindings with the same method and template shape as a conflict at FILE:LINE:COL", () => {
    const dir = protoFolder({
      "s.proto": serviceProto(
        'rpc A(Req) returns (Res) { option (google.api.http) = { get: "/v1/{name}" }; }',
        'rpc B(Req) returns (Res) { option (google.api.http) = { get: "/v1/{inner.id}" }; }',
        'rpc C(Req) returns (Res) { option (google.api.http) = { post: "/v1/{name}" body: "*" }; }',
      ),
    });
    const file = path.join(dir, "s.proto");
    assert.deepEqual(problemsOf(dir, ["s.proto"]), [
      {
        file,
        line: 9,
        col: 3,
        message: `rpc B: GET /v1/{inner.id} conflicts with rpc p.S.A's GET /v1/{name} (${file}:8:3)`,
      },
    ]);
  });

  for (const [rule, reason] of [
    ['get: "/v1/{nope}"', 'path variable "nope": p.Req has no field "nope"'],
    ['get: "/v1/{tags}"', 'path variable "tags" must name a single scalar or enum field'],
    ['get: "/v1/{inner}"', 'path variable "inner" must name a single scalar or enum field'],
    ['get: "/v1/{name.x}"', 'path variable "name.x": "name" is not a message field'],
    ['post: "/v1/x" body: "nope"', 'body: p.Req has no field "nope"'],
    ['get: "/v1/x" response_body: "nope"', 'response_body: p.Res has no field "nope"'],
    [
      'get: "/v1/x" post: "/v1/y"',
      "a rule needs exactly one of get, put, post, delete, patch, custom",
    ],
    ['get: "v1/x"', 'path template "v1/x": must start with "/"'],
    [
      'custom: { kind: "NOT A METHOD" path: "/v1/x" }',
      'custom kind "NOT A METHOD" is not an HTTP method',
    ],
    [
      'get: "/v1/x" additional_bindings { get: "/v1/y" additional_bindings { get: "/v1/z" } }',
      "additional_bindings cannot be nested",
    ],
  ]) {
    it(`refuses ${rule}`, () => {
      const dir = protoFolder({
        "s.proto": serviceProto(
          `rpc A(Req) returns (Res) { option (google.api.http) = { ${rule} }; }`,
        ),
      });
      const problems = problemsOf(dir, ["s.proto"]);
      assert.deepEqual(
        problems.map((p) => [p.line, p.message]),
        [[8, `rpc A: ${reason}`]],
      );
    });
  }
});
