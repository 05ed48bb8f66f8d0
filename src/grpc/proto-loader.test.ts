import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import {
  fixtureProtoDir,
  loadLibrary,
  problemsOf,
  protoFolder,
} from "../../test/helpers/library-protos.ts";
import { bundledProtoDir, loadProtos } from "./proto-loader.ts";

describe("loadProtos", () => {
  it("loads a proto that imports google/api and the well-known types without vendoring them", () => {
    const { protos } = loadLibrary();
    assert.ok(protos.registry.getService("library.v1.Library"));
    assert.ok(protos.registry.getMessage("google.rpc.Status"), "status types are always loaded");
    assert.ok(protos.registry.getMessage("google.rpc.BadRequest"));
    const library = path.join(fixtureProtoDir, "library/v1/library.proto");
    assert.equal(protos.files[0], library);
    assert.ok(protos.files.includes(path.join(bundledProtoDir, "google/api/http.proto")));
  });

  it("lists every method of the user's services with its http option and where it is declared", () => {
    const { protos } = loadLibrary();
    const names = protos.methods.map((m) => m.method.name);
    assert.deepEqual(names.slice(0, 3), ["GetShelf", "ListBooks", "GetBook"]);
    assert.ok(names.includes("Internal"));
    const getShelf = protos.methods[0];
    assert.equal(getShelf.location.line, 18);
    assert.equal(getShelf.location.col, 3);
    assert.equal(getShelf.httpRule?.get, "/v1/shelves/{shelf_id}");
    assert.equal(protos.methods.find((m) => m.method.name === "Internal")?.httpRule, undefined);
  });

  it("keeps json_name and computes the JSON name of every other field", () => {
    const everything = loadLibrary().protos.registry.getMessage("library.v1.Everything")!;
    assert.equal(everything.field.displayName.jsonName, "label");
    assert.equal(everything.field.maybeCount.jsonName, "maybeCount");
  });

  it("reports a syntax error at FILE:LINE:COL", () => {
    const dir = protoFolder({ "bad.proto": 'syntax = "proto3";\nmessage A {\n  int32 a = ;\n}\n' });
    assert.deepEqual(problemsOf(dir, ["bad.proto"]), [
      { file: path.join(dir, "bad.proto"), line: 3, col: 13, message: "illegal id ';'" },
    ]);
  });

  it("reports an import that is found nowhere at the import line", () => {
    const dir = protoFolder({ "a.proto": 'syntax = "proto3";\n\nimport "missing/b.proto";\n' });
    const [problem] = problemsOf(dir, ["a.proto"]);
    assert.equal(problem.file, path.join(dir, "a.proto"));
    assert.equal(problem.line, 3);
    assert.match(problem.message, /cannot read .*missing\/b\.proto: not found/);
  });

  it("reports a field of an unknown type where the type is named", () => {
    const dir = protoFolder({
      "a.proto": 'syntax = "proto3";\npackage p;\nmessage A {\n  Unknown thing = 1;\n}\n',
    });
    assert.deepEqual(problemsOf(dir, ["a.proto"]), [
      {
        file: path.join(dir, "a.proto"),
        line: 4,
        col: 3,
        message: 'field "thing" of p.A: unknown type "Unknown"',
      },
    ]);
  });

  it("reports a proto file that does not exist", () => {
    const dir = protoFolder({});
    const result = loadProtos({ protos: ["nope.proto"], baseDir: dir });
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.problems[0].message : "", /nope\.proto: not found/);
  });

  it("refuses editions with a clear message", () => {
    const dir = protoFolder({ "e.proto": 'edition = "2023";\npackage p;\n' });
    const [problem] = problemsOf(dir, ["e.proto"]);
    assert.equal(problem.line, 1);
    assert.match(problem.message, /editions are not supported/);
  });

  it("resolves imports against the include dirs, naming files by their path inside them", () => {
    const dir = protoFolder({
      "common.proto": 'syntax = "proto3";\npackage c;\nmessage Money { int64 units = 1; }\n',
      "shop.proto":
        'syntax = "proto3";\npackage s;\nimport "common.proto";\nmessage Order { c.Money total = 1; }\n',
    });
    const result = loadProtos({ protos: ["shop.proto"], includeDirs: ["."], baseDir: dir });
    assert.ok(result.ok);
    const order = result.ok ? result.protos.registry.getMessage("s.Order") : undefined;
    assert.equal(order?.file.proto.name, "shop.proto");
    assert.equal(order?.field.total.message?.typeName, "c.Money");
  });
});
