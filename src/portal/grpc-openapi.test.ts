import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  assertValidOpenApi,
  documentOf,
  schemaValidator,
} from "../../test/helpers/fragment-document.ts";
import { fixtureProtoDir } from "../../test/helpers/library-protos.ts";
import type { Node } from "../../test/helpers/openapi-conformance.ts";
import { pointerOf } from "../../test/helpers/openapi-conformance.ts";
import { Transcoder, type TranscoderOptions } from "../grpc/transcoder.ts";
import { grpcTranscodePlugin } from "../plugins/grpc-transcode/index.ts";
import { grpcOpenApiFragment } from "./grpc-openapi.ts";

function transcoder(proto: string, options: Partial<TranscoderOptions> = {}): Transcoder {
  const created = Transcoder.create({
    protos: [proto],
    includeDirs: ["."],
    baseDir: fixtureProtoDir,
    ...options,
  });
  if (!created.ok) throw new Error(JSON.stringify(created.problems));
  return created.transcoder;
}

function fragmentOf(proto: string, options: Partial<TranscoderOptions> = {}) {
  const built = transcoder(proto, options);
  return grpcOpenApiFragment(built.methods(), { ...options, comments: built.protos.comments });
}

const library = documentOf(fragmentOf("library/v1/library.proto"));
const catalog = documentOf(fragmentOf("catalog/v1/catalog.proto"));
const op = (document: Node, path: string, method: string): Node => {
  const found = document.paths[path]?.[method];
  assert.ok(found, `${method} ${path} in ${Object.keys(document.paths).join(", ")}`);
  return found;
};
const names = (operation: Node, where: string) =>
  (operation.parameters ?? []).filter((p: Node) => p.in === where).map((p: Node) => p.name);
const bodySchema = (operation: Node) => operation.requestBody.content["application/json"].schema;
const okSchema = (operation: Node, status = "200") =>
  operation.responses[status].content["application/json"].schema;

describe("grpcOpenApiFragment", () => {
  it("makes valid OpenAPI 3.1 documents, whatever the print options", async () => {
    await assertValidOpenApi(library);
    await assertValidOpenApi(catalog);
    await assertValidOpenApi(
      documentOf(
        fragmentOf("library/v1/library.proto", { int64AsNumber: true, useProtoFieldNames: true }),
      ),
    );
  });

  it("has one operation per binding, additional bindings included, on the paths clients send", () => {
    assert.deepEqual(Object.keys(library.paths).sort(), [
      "/v1/books/{name}",
      "/v1/echo",
      "/v1/files/{path}",
      "/v1/shelves/{shelf_id}",
      "/v1/shelves/{shelves}/books",
      "/v1/shelves/{shelves}/books/{books}",
      "/v1/shelves/{shelves}/books/{books}:archive",
      "/v1/shelves/{shelves}/books:stream",
      "/v1/shelves/{shelves}/titles",
    ]);
    assert.deepEqual(Object.keys(library.paths["/v1/shelves/{shelf_id}"]!), ["get", "head"]);
    assert.deepEqual(Object.keys(library.paths["/v1/echo"]!), ["post", "get"]);
    assert.deepEqual(Object.keys(library.paths["/v1/shelves/{shelves}/books/{books}"]!), [
      "get",
      "patch",
      "put",
      "delete",
    ]);
    // GetBook's rule and its additional binding: one method, two operations.
    const getBook = op(library, "/v1/books/{name}", "get");
    assert.equal(getBook.operationId, "library.v1.Library.GetBook.1");
    assert.equal(getBook["x-gatehouse-grpc-method"], "library.v1.Library/GetBook");
    assert.equal(
      op(library, "/v1/shelves/{shelves}/books/{books}", "get").operationId,
      "library.v1.Library.GetBook",
    );
    // A method without a rule is not published, nor a rule OpenAPI has no method for
    // (PURGE), nor a client stream (the gateway answers those 501).
    assert.ok(!JSON.stringify(library).includes("Library/Internal"));
    assert.deepEqual(Object.keys(catalog.paths).sort(), [
      "/v1/catalogs/{catalogs}/categories/{categories}",
      "/v1/catalogs/{catalogs}/categories/{categories}:move",
      "/v1/search",
    ]);
  });

  it("names path parameters after the variable, or after each collection of a multi-segment one", () => {
    const shelf = op(library, "/v1/shelves/{shelf_id}", "get").parameters[0];
    assert.deepEqual(shelf, {
      name: "shelf_id",
      in: "path",
      required: true,
      description: "The `shelf_id` field.",
      schema: { type: "string", format: "int64", pattern: "^-?[0-9]+$" },
    });
    const book = op(library, "/v1/shelves/{shelves}/books/{books}", "get");
    assert.deepEqual(names(book, "path"), ["shelves", "books"]);
    assert.match(
      book.parameters[0].description,
      /`name` field, which is `shelves\/\{shelves\}\/books\/\{books\}`/,
    );
    assert.deepEqual(book.parameters[0].schema, { type: "string", pattern: "^[^/]+$" });
    const file = op(library, "/v1/files/{path}", "get").parameters[0];
    assert.match(file.description, /may span segments/);
  });

  it("lists the fields neither the path nor the body sets as query parameters", () => {
    const list = op(library, "/v1/shelves/{shelves}/books", "get");
    assert.deepEqual(names(list, "query"), [
      "pageSize",
      "pageToken",
      "filter.author",
      "filter.genre",
      "filter.publishedAfter",
      "ids",
      "genres",
      "includeArchived",
    ]);
    const ids = list.parameters.find((p: Node) => p.name === "ids");
    assert.deepEqual(ids, {
      name: "ids",
      in: "query",
      schema: { type: "array", items: { type: "string", format: "int64", pattern: "^-?[0-9]+$" } },
      style: "form",
      explode: true,
    });
    // body: "book" — the rest of the request comes from the query.
    assert.deepEqual(names(op(library, "/v1/shelves/{shelves}/books", "post"), "query"), [
      "requestId",
    ]);
    assert.deepEqual(names(op(library, "/v1/shelves/{shelves}/books/{books}", "patch"), "query"), [
      "updateMask",
    ]);
    // body: "*" — nothing comes from the query.
    assert.deepEqual(names(op(library, "/v1/echo", "post"), "query"), []);
    // Maps and lists of messages cannot come from a query; nested messages are followed.
    const echo = names(op(library, "/v1/echo", "get"), "query");
    assert.ok(echo.includes("nested.big") && echo.includes("maybeCount") && echo.includes("at"));
    assert.ok(!echo.includes("counts") && !echo.includes("nesteds") && !echo.includes("meta"));
    // A recursive message is followed once.
    assert.deepEqual(names(op(catalog, "/v1/search", "get"), "query"), [
      "query",
      "within.name",
      "within.updated",
    ]);
  });

  it("takes the request body from `body`: the whole request less the path's fields, or one field", () => {
    assert.deepEqual(bodySchema(op(library, "/v1/shelves/{shelves}/books", "post")), {
      $ref: "#/components/schemas/library.v1.Book",
    });
    assert.deepEqual(bodySchema(op(library, "/v1/echo", "post")), {
      $ref: "#/components/schemas/library.v1.Everything",
    });
    const replace = bodySchema(op(library, "/v1/shelves/{shelves}/books/{books}", "put"));
    assert.deepEqual(Object.keys(replace.properties), [
      "title",
      "author",
      "genre",
      "pageCount",
      "published",
    ]);
    const archive = op(library, "/v1/shelves/{shelves}/books/{books}:archive", "post");
    assert.deepEqual(Object.keys(bodySchema(archive).properties), ["reason"]);
    assert.deepEqual(archive.requestBody.content["application/json"].example, { reason: "reason" });
    assert.equal(op(library, "/v1/shelves/{shelves}/books", "get").requestBody, undefined);
  });

  it("describes the answer: the output message, `response_body`, the method's status, streams, errors", () => {
    const create = transcoder("library/v1/library.proto", {
      statuses: { "library.v1.Library/CreateBook": 201 },
    });
    const created = documentOf(grpcOpenApiFragment(create.methods()));
    assert.deepEqual(Object.keys(op(created, "/v1/shelves/{shelves}/books", "post").responses), [
      "201",
      "default",
    ]);
    const archive = op(library, "/v1/shelves/{shelves}/books/{books}:archive", "post");
    assert.deepEqual(okSchema(archive), { $ref: "#/components/schemas/library.v1.Book" });
    assert.deepEqual(okSchema(op(library, "/v1/shelves/{shelves}/titles", "get")), {
      type: "array",
      items: { type: "string" },
    });
    const deleted = okSchema(op(library, "/v1/shelves/{shelves}/books/{books}", "delete"));
    assert.deepEqual(deleted, { type: "object", additionalProperties: false });
    const stream = op(library, "/v1/shelves/{shelves}/books:stream", "get");
    assert.deepEqual(Object.keys(stream.responses["200"].content), [
      "application/x-ndjson",
      "text/event-stream",
    ]);
    assert.deepEqual(stream.responses["200"].content["application/x-ndjson"].schema, {
      $ref: "#/components/schemas/library.v1.Book",
    });
    assert.match(stream.description, /one JSON message a line/);
    assert.equal(op(library, "/v1/shelves/{shelf_id}", "head").responses["200"].content, undefined);
    assert.deepEqual(op(library, "/v1/echo", "get").responses.default.content, {
      "application/json": { schema: { $ref: "#/components/schemas/GatehouseGrpcError" } },
    });
  });

  it("uses the .proto comments as summaries and descriptions", () => {
    const get = op(catalog, "/v1/catalogs/{catalogs}/categories/{categories}", "get");
    assert.equal(get.summary, "Reads one category and its subtree.");
    assert.match(get.description, /^Reads one category and its subtree\.\nThe tree is as deep/);
    assert.equal(op(library, "/v1/files/{path}", "get").summary, '"**": the rest of the path.');
    const category = catalog.components.schemas["catalog.v1.Category"];
    assert.equal(category.description, "A node of the tree.");
    assert.match(category.properties.name.description, /^Its resource name/);
    // Without a comment, the method's name.
    assert.equal(op(catalog, "/v1/search", "get").tags[0], "catalog.v1.Catalog");
    assert.equal(
      op(library, "/v1/shelves/{shelves}/books/{books}", "delete").summary,
      "Library.DeleteBook",
    );
  });

  it("gives request bodies examples that the schemas accept and the transcoder takes", () => {
    const built = transcoder("library/v1/library.proto");
    const check = schemaValidator(library).assertValid;
    const operations = Object.entries(library.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({ path, method, operation })),
    );
    let sent = 0;
    for (const method of built.methods()) {
      const { binding } = method;
      const id = `${method.name.replace("/", ".")}${binding.index > 0 ? `.${binding.index}` : ""}`;
      const found = operations.find(({ operation }) => operation.operationId === id);
      const media = found?.operation.requestBody?.content["application/json"];
      if (media === undefined) continue;
      check(
        pointerOf(
          "paths",
          found!.path,
          found!.method,
          "requestBody",
          "content",
          "application/json",
          "schema",
        ),
        media.example,
        id,
      );
      // The path's variables as a client following the document fills them.
      const variables = binding.template.variables.map((v) =>
        binding.template.segments
          .slice(v.start, v.end)
          .map((s) => (s.kind === "literal" ? s.value : "7"))
          .join("/"),
      );
      const mapped = method.mapRequest({
        variables,
        query: "",
        body: JSON.stringify(media.example),
      });
      assert.ok(mapped.ok, `${id}: ${!mapped.ok && mapped.error.message}`);
      sent++;
    }
    assert.equal(sent, 5); // CreateBook, UpdateBook, ReplaceBook, ArchiveBook, Echo
  });

  it("is what the plugin's openapi() hook returns, built once", async () => {
    const hooks = await grpcTranscodePlugin.create(
      grpcTranscodePlugin.schema.parse({
        protos: ["library/v1/library.proto"],
        useProtoFieldNames: true,
      }),
      { baseDir: fixtureProtoDir } as never,
    );
    const fragment = await hooks.openapi!();
    assert.equal(fragment, await hooks.openapi!());
    const list = fragment.paths["/v1/shelves/{shelves}/books"]!.get!;
    assert.ok(names(list, "query").includes("page_size"));
    assert.ok("page_count" in (fragment.schemas!["library.v1.Book"]!.properties as Node));
  });
});
