import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromBinary, type JsonValue, toJson } from "@bufbuild/protobuf";
import { loadLibrary } from "../../test/helpers/library-protos.ts";
import { compileRequestMapper, type RequestMappingOptions } from "./request-mapping.ts";

const library = loadLibrary();
const registry = library.protos.registry;

/** Maps `METHOD /path?query` (+ body) as the transcoder would; the request as JSON, or the error. */
function mapRequest(
  target: string,
  body?: string,
  options: RequestMappingOptions = {},
): { json: JsonValue } | { error: string } {
  const [httpMethod, url] = target.split(" ");
  const [path, query = ""] = url.split("?");
  const match = library.rules.matcher.match(httpMethod, path);
  if (!match) throw new Error(`no binding for ${target}`);
  const mapper = compileRequestMapper(match.value, { registry, ...options });
  const result = mapper({ variables: match.variables, query, body });
  if (!result.ok) return { error: result.error.message };
  const schema = match.value.method.input;
  return { json: toJson(schema, fromBinary(schema, result.bytes), { registry }) };
}

describe("compileRequestMapper", () => {
  it("puts a path variable into its field, parsed by the field's type", () => {
    assert.deepEqual(mapRequest("GET /v1/shelves/42"), { json: { shelfId: "42" } });
    assert.deepEqual(mapRequest("GET /v1/shelves/x"), {
      error:
        'path variable "shelf_id": cannot decode field library.v1.GetShelfRequest.shelf_id from JSON: expected bigint (int64): x out of range',
    });
  });

  it("puts a multi-segment variable into its field as one string", () => {
    assert.deepEqual(mapRequest("GET /v1/shelves/s1/books/b2"), {
      json: { name: "shelves/s1/books/b2" },
    });
    assert.deepEqual(mapRequest("GET /v1/files/docs/a%2Fb/readme.md"), {
      json: { path: "docs/a%2Fb/readme.md" },
    });
  });

  it("puts a nested path variable ({book.name}) into the body's message without losing its fields", () => {
    const body = JSON.stringify({ title: "Dune", name: "ignored: the path wins" });
    assert.deepEqual(mapRequest("PATCH /v1/shelves/1/books/2?update_mask=title,author", body), {
      json: { book: { name: "shelves/1/books/2", title: "Dune" }, updateMask: "title,author" },
    });
  });

  it('maps body "*" to the whole request message', () => {
    const body = JSON.stringify({ title: "Dune", genre: "FICTION", pageCount: "412" });
    assert.deepEqual(mapRequest("PUT /v1/shelves/1/books/2", body), {
      json: { name: "shelves/1/books/2", title: "Dune", genre: "FICTION", pageCount: "412" },
    });
  });

  it('maps body "field" to that field, leaving the rest to the path and query', () => {
    const body = JSON.stringify({ title: "Dune" });
    assert.deepEqual(mapRequest("POST /v1/shelves/1/books?request_id=r-1", body), {
      json: { parent: "shelves/1", book: { title: "Dune" }, requestId: "r-1" },
    });
  });

  it("takes an empty body as an empty message", () => {
    assert.deepEqual(mapRequest("PUT /v1/shelves/1/books/2", ""), {
      json: { name: "shelves/1/books/2" },
    });
  });

  it("maps query parameters into scalar, nested and repeated fields, by proto or JSON name", () => {
    const query =
      "page_size=10&pageToken=t&filter.author=Herbert&filter.genre=FICTION&ids=1&ids=2&genres=HISTORY&genres=1&include_archived=true";
    assert.deepEqual(mapRequest(`GET /v1/shelves/1/books?${query}`), {
      json: {
        parent: "shelves/1",
        pageSize: 10,
        pageToken: "t",
        filter: { author: "Herbert", genre: "FICTION" },
        ids: ["1", "2"],
        genres: ["HISTORY", "FICTION"],
        includeArchived: true,
      },
    });
  });

  it("reads a well-known type from the query in its JSON form", () => {
    assert.deepEqual(
      mapRequest("GET /v1/shelves/1/books?filter.published_after=2024-01-02T03:04:05Z"),
      { json: { parent: "shelves/1", filter: { publishedAfter: "2024-01-02T03:04:05Z" } } },
    );
  });

  it("refuses a query value its field cannot hold, naming the parameter", () => {
    assert.deepEqual(mapRequest("GET /v1/shelves/1/books?include_archived=yes"), {
      error:
        'query parameter "include_archived": cannot decode field library.v1.ListBooksRequest.include_archived from JSON: expected boolean, got "yes"',
    });
    const genre = mapRequest("GET /v1/shelves/1/books?filter.genre=POETRY");
    assert.match("error" in genre ? genre.error : "", /^query parameter "filter.genre": .*POETRY/);
  });

  it("refuses an unknown query parameter unless ignoreUnknownQueryParameters", () => {
    assert.deepEqual(mapRequest("GET /v1/shelves/1/books?nope=1"), {
      error: 'query parameter "nope": no such field',
    });
    assert.deepEqual(
      mapRequest("GET /v1/shelves/1/books?nope=1&page_size=3", undefined, {
        ignoreUnknownQueryParameters: true,
      }),
      { json: { parent: "shelves/1", pageSize: 3 } },
    );
  });

  it("refuses query parameters for fields the path or body set, or that no value can stand for", () => {
    const error = (target: string) => {
      const result = mapRequest(target, "{}", { ignoreUnknownQueryParameters: true });
      return "error" in result ? result.error : "";
    };
    assert.equal(
      error("GET /v1/shelves/1/books?parent=x"),
      'query parameter "parent": "parent" is already set by the path or the body',
    );
    assert.equal(
      error("POST /v1/shelves/1/books?book.title=x"),
      'query parameter "book.title": "book.title" is already set by the path or the body',
    );
    assert.equal(
      error("GET /v1/shelves/1/books?filter=x"),
      'query parameter "filter": "filter" is a message; set its fields, as in filter.FIELD=VALUE',
    );
    assert.equal(
      error("GET /v1/echo?counts=1"),
      'query parameter "counts": "counts" is a map, which a query cannot set',
    );
  });

  it('takes no query parameters with body "*" (every field comes from the body or path)', () => {
    assert.deepEqual(mapRequest("PUT /v1/shelves/1/books/2?title=x", "{}"), {
      error: 'query parameter "title": no such field',
    });
  });

  it("refuses unknown JSON fields in the body unless ignoreUnknownFields", () => {
    const body = JSON.stringify({ title: "Dune", colour: "blue" });
    assert.deepEqual(mapRequest("PUT /v1/shelves/1/books/2", body), {
      error: 'body: cannot decode message library.v1.Book from JSON: key "colour" is unknown',
    });
    assert.deepEqual(mapRequest("PUT /v1/shelves/1/books/2", body, { ignoreUnknownFields: true }), {
      json: { name: "shelves/1/books/2", title: "Dune" },
    });
  });

  it("refuses a body that is not JSON, repeats a key, or is not UTF-8", () => {
    const error = (body: string | Uint8Array) => {
      const [path, query] = ["/v1/shelves/1/books/2", ""];
      const match = library.rules.matcher.match("PUT", path)!;
      const result = compileRequestMapper(match.value)({ variables: match.variables, query, body });
      return result.ok ? "" : result.error.message;
    };
    assert.match(error("{"), /^body: cannot decode message library\.v1\.Book from JSON: /);
    assert.match(error('{"title":"a","title":"b"}'), /^body: .*duplicate/i);
    assert.match(error(new Uint8Array([0x7b, 0xff, 0x7d])), /^body: .*(encoded|utf-8)/i);
  });
});
