import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { loadLibrary } from "../../test/helpers/library-protos.ts";
import { compileResponseMapper, type ResponseMappingOptions } from "./response-mapping.ts";

const library = loadLibrary();
const registry = library.protos.registry;

/** What the client gets for a response message, mapped as `method`'s binding maps it. */
function responseJson(
  method: string,
  init: MessageInitShape<DescMessage>,
  options: ResponseMappingOptions = {},
): unknown {
  const binding = library.binding(method);
  const schema = binding.method.output;
  const mapper = compileResponseMapper(schema, binding.responseBody, { registry, ...options });
  const result = mapper(toBinary(schema, create(schema, init)));
  if (!result.ok) throw new Error(result.error);
  return JSON.parse(result.json);
}

const books = {
  books: [{ name: "shelves/1/books/1", pageCount: 412n, genre: 1 }],
  totalSize: 1n,
};

describe("compileResponseMapper", () => {
  it("prints canonical proto3 JSON with JSON names by default", () => {
    assert.deepEqual(responseJson("ListBooks", books), {
      books: [{ name: "shelves/1/books/1", pageCount: "412", genre: "FICTION" }],
      totalSize: "1",
    });
  });

  it("int64AsNumber prints 64-bit integers as numbers, in nested, repeated and wrapper fields", () => {
    assert.deepEqual(responseJson("ListBooks", books, { int64AsNumber: true }), {
      books: [{ name: "shelves/1/books/1", pageCount: 412, genre: "FICTION" }],
      totalSize: 1,
    });
    const everything = {
      i64: 1n,
      ids: [2n, 3n],
      counts: { a: 4n },
      maybeCount: 5n,
      nested: { big: 6n },
      nesteds: [{ big: 7n }],
    };
    assert.deepEqual(responseJson("Echo", everything, { int64AsNumber: true }), {
      i64: 1,
      ids: [2, 3],
      counts: { a: 4 },
      maybeCount: 5,
      nested: { big: 6 },
      nesteds: [{ big: 7 }],
    });
  });

  it("emitDefaults prints fields at their default value", () => {
    assert.deepEqual(responseJson("GetShelf", {}, { emitDefaults: true }), { id: "0", theme: "" });
    assert.deepEqual(responseJson("GetShelf", {}), {});
  });

  it("useProtoFieldNames prints the .proto names, json_name included", () => {
    assert.deepEqual(
      responseJson("Echo", { displayName: "x", maybeI32: 1 }, { useProtoFieldNames: true }),
      { display_name: "x", maybe_i32: 1 },
    );
    assert.deepEqual(
      responseJson("ListBooks", books, { useProtoFieldNames: true, int64AsNumber: true }),
      { books: [{ name: "shelves/1/books/1", page_count: 412, genre: "FICTION" }], total_size: 1 },
    );
  });

  it("sends only the response_body field when the rule names one", () => {
    const archived = { book: { title: "Dune", pageCount: 9n }, archivedAt: { seconds: 1n } };
    assert.deepEqual(responseJson("ArchiveBook", archived), { title: "Dune", pageCount: "9" });
    assert.deepEqual(responseJson("ArchiveBook", archived, { int64AsNumber: true }), {
      title: "Dune",
      pageCount: 9,
    });
    assert.deepEqual(responseJson("ArchiveBook", {}), {});
  });

  it("sends a repeated response_body as a JSON array, empty rather than missing", () => {
    assert.deepEqual(responseJson("ListTitles", { titles: ["a", "b"], totalSize: 2n }), ["a", "b"]);
    assert.deepEqual(responseJson("ListTitles", {}), []);
  });

  it("answers bytes that are not the response message with an error, not a throw", () => {
    const mapper = compileResponseMapper(library.binding("GetShelf").method.output, undefined);
    const result = mapper(new Uint8Array([0x0a, 0xff]));
    assert.equal(result.ok, false);
  });
});
