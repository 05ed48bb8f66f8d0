import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { fixtureProtoDir, protoFolder } from "../../test/helpers/library-protos.ts";
import { Transcoder } from "./transcoder.ts";

const options = {
  protos: ["library/v1/library.proto"],
  includeDirs: ["."],
  baseDir: fixtureProtoDir,
  statuses: { "library.v1.Library/CreateBook": 201 },
};

function library() {
  const created = Transcoder.create(options);
  if (!created.ok) throw new Error(JSON.stringify(created.problems));
  return created.transcoder;
}

describe("Transcoder", () => {
  it("finds the method a request's HTTP method and path take, with its gRPC path and success status", () => {
    const transcoder = library();
    const found = transcoder.match("POST", "/v1/shelves/7/books");
    assert.equal(found.kind, "method");
    if (found.kind !== "method") return;
    assert.equal(found.method.grpcPath, "/library.v1.Library/CreateBook");
    assert.equal(found.method.successStatus, 201);
    assert.deepEqual(found.variables, ["shelves/7"]);
    const get = transcoder.match("GET", "/v1/books/12");
    assert.equal(get.kind === "method" && get.method.successStatus, 200);
  });

  it("maps the request, path variables and body, to the method's message", () => {
    const transcoder = library();
    const found = transcoder.match("POST", "/v1/shelves/7/books");
    if (found.kind !== "method") return assert.fail(found.kind);
    const mapped = found.method.mapRequest({
      variables: found.variables,
      query: "",
      body: JSON.stringify({ title: "Dune", pageCount: "412" }),
    });
    assert.ok(mapped.ok);
    const request = fromBinary(found.method.binding.method.input, mapped.bytes) as unknown as {
      parent: string;
      book: { title: string };
    };
    assert.equal(request.parent, "shelves/7");
    assert.equal(request.book.title, "Dune");
  });

  it("knows a streaming method, a path bound for other methods (405), and a path bound to none", () => {
    const transcoder = library();
    const stream = transcoder.match("GET", "/v1/shelves/1/books:stream");
    assert.equal(stream.kind === "method" && stream.method.serverStreaming, true);
    assert.deepEqual(transcoder.match("PUT", "/v1/shelves/1"), {
      kind: "method-not-allowed",
      allowed: ["GET", "HEAD"],
    });
    assert.deepEqual(transcoder.match("GET", "/v2/nothing"), { kind: "none" });
  });

  it("refuses a status for a method the protos do not have, and a proto that does not parse", () => {
    const unknown = Transcoder.create({ ...options, statuses: { "library.v1.Library/Nope": 201 } });
    assert.ok(!unknown.ok);
    assert.match(unknown.problems[0]!.message, /library\.v1\.Library\/Nope is no method/);
    const dir = protoFolder({ "bad.proto": 'syntax = "proto3";\nmessage {\n' });
    const broken = Transcoder.create({ protos: ["bad.proto"], baseDir: dir });
    assert.ok(!broken.ok);
    assert.equal(broken.problems[0]!.line, 2);
  });
});
