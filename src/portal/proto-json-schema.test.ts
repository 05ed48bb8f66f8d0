import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { documentOf, schemaValidator } from "../../test/helpers/fragment-document.ts";
import { fixtureProtoDir } from "../../test/helpers/library-protos.ts";
import type { Node } from "../../test/helpers/openapi-conformance.ts";
import { Transcoder, type TranscoderOptions } from "../grpc/transcoder.ts";
import { grpcOpenApiFragment } from "./grpc-openapi.ts";

/** The library protos' transcoder, its document, and its Echo (POST, body "*") method. */
function library(options: Partial<TranscoderOptions> = {}) {
  const created = Transcoder.create({
    protos: ["library/v1/library.proto"],
    includeDirs: ["."],
    baseDir: fixtureProtoDir,
    ...options,
  });
  if (!created.ok) throw new Error(JSON.stringify(created.problems));
  const methods = created.transcoder.methods();
  const document = documentOf(grpcOpenApiFragment(methods, options));
  const echo = methods.find((m) => m.name === "library.v1.Library/Echo" && m.binding.index === 0)!;
  /** What the gateway answers for a JSON body sent to POST /v1/echo. */
  const roundTrip = (body: unknown): unknown => {
    const mapped = echo.mapRequest({ variables: [], query: "", body: JSON.stringify(body) });
    if (!mapped.ok) throw new Error(mapped.error.message);
    const answered = echo.mapResponse(mapped.bytes);
    if (!answered.ok) throw new Error(answered.error);
    return JSON.parse(answered.json);
  };
  return { document, roundTrip, validator: schemaValidator(document) };
}

const everything = "/components/schemas/library.v1.Everything";

/** Every field of Everything set, in canonical proto3 JSON. */
const full = {
  i32: -5,
  i64: "-9007199254740993",
  u64: "18446744073709551615",
  s64: "-3",
  f64: "4",
  dbl: 1.5,
  flt: "NaN",
  flag: true,
  text: "hé",
  data: "AAEC",
  genre: "HISTORY",
  ids: ["1", "2"],
  genres: ["FICTION"],
  counts: { a: "3" },
  labels: { "7": "seven" },
  nested: { value: 1, big: "2" },
  nesteds: [{ value: 2 }],
  at: "2024-05-06T07:08:09.123Z",
  ttl: "3.5s",
  mask: "title,pageCount",
  meta: { k: [1, "x", null] },
  anything: { a: 1 },
  list: [1, "two"],
  maybeCount: "12",
  maybeName: "n",
  maybeFlag: false,
  detail: { "@type": "type.googleapis.com/library.v1.Book", title: "Dune" },
  label: "shown",
  maybeI32: 0,
  choiceText: "t",
};

describe("message schemas in canonical proto3 JSON", () => {
  it("describe each kind of field as the transcoder prints it", () => {
    const { document } = library();
    const schemas = document.components.schemas as Record<string, Node>;
    const fields = schemas["library.v1.Everything"]!.properties as Record<string, Node>;
    assert.deepEqual(fields.i64, { type: "string", format: "int64", pattern: "^-?[0-9]+$" });
    assert.deepEqual(fields.u64, { type: "string", pattern: "^[0-9]+$" });
    assert.deepEqual(fields.data, { type: "string", format: "byte", contentEncoding: "base64" });
    assert.deepEqual(fields.genre, { $ref: "#/components/schemas/library.v1.Genre" });
    assert.deepEqual(schemas["library.v1.Genre"], {
      type: "string",
      enum: ["GENRE_UNSPECIFIED", "FICTION", "HISTORY"],
    });
    assert.equal(fields.ids!.type, "array");
    assert.deepEqual(fields.labels!.propertyNames, { pattern: "^-?[0-9]+$" });
    assert.deepEqual(fields.counts!.additionalProperties, fields.i64);
    assert.deepEqual(fields.nesteds!.items, {
      $ref: "#/components/schemas/library.v1.Everything.Nested",
    });
    assert.equal(fields.at!.format, "date-time");
    assert.deepEqual(fields.maybeName!.type, ["string", "null"]);
    assert.deepEqual(fields.maybeCount!.type, ["string", "null"]);
    assert.deepEqual(fields.detail!.required, ["@type"]);
    assert.deepEqual(fields.meta, { type: "object", additionalProperties: true });
    // json_name is honoured; oneof members say so.
    assert.ok("label" in fields && !("displayName" in fields));
    assert.match(fields.choiceText!.description, /oneof `choice`/);
  });

  it("accept what the transcoder prints (every field set, and every default printed)", () => {
    const { roundTrip, validator } = library();
    const printed = roundTrip(full);
    assert.equal((printed as Node).i64, "-9007199254740993");
    validator.assertValid(everything, printed);
    validator.assertValid(everything, full);
    const defaults = library({ emitDefaults: true });
    const printedDefaults = defaults.roundTrip({});
    assert.equal((printedDefaults as Node).i64, "0");
    defaults.validator.assertValid(everything, printedDefaults);
  });

  it("refuse what the transcoder would not print or read", () => {
    const { validator } = library();
    assert.ok(validator.isValid(everything, { i64: "12" }));
    assert.ok(!validator.isValid(everything, { i64: 12 }), "an int64 is a string");
    assert.ok(!validator.isValid(everything, { genre: "NOPE" }));
    assert.ok(!validator.isValid(everything, { ttl: "3 seconds" }));
    assert.ok(!validator.isValid(everything, { at: "yesterday" }));
    assert.ok(!validator.isValid(everything, { labels: { seven: "x" } }), "int32 map keys");
    assert.ok(!validator.isValid(everything, { choiceText: "t", choiceNumber: 1 }), "one of");
    assert.ok(!validator.isValid(everything, { detail: { title: "no @type" } }));
  });

  it("follow the print options: .proto field names, 64-bit integers as numbers", () => {
    const { roundTrip, validator, document } = library({
      int64AsNumber: true,
      useProtoFieldNames: true,
    });
    const printed = roundTrip({ ...full, i64: "-12", u64: "13" }) as Node;
    assert.equal(printed.i64, -12);
    assert.equal(printed.display_name, "shown");
    validator.assertValid(everything, printed);
    assert.ok(!validator.isValid(everything, { i64: "12" }), "an int64 is a number");
    const fields = (document.components.schemas as Record<string, Node>)["library.v1.Everything"]!
      .properties;
    assert.ok("display_name" in fields && "maybe_count" in fields && !("label" in fields));
    assert.deepEqual(fields.maybe_count.type, ["integer", "null"]);
  });

  it("refer to a recursive message by $ref", () => {
    const created = Transcoder.create({
      protos: ["catalog/v1/catalog.proto"],
      includeDirs: ["."],
      baseDir: fixtureProtoDir,
    });
    assert.ok(created.ok);
    const document = documentOf(grpcOpenApiFragment(created.transcoder.methods()));
    const category = (document.components.schemas as Record<string, Node>)["catalog.v1.Category"]!;
    const self = { $ref: "#/components/schemas/catalog.v1.Category" };
    assert.deepEqual(category.properties.parent, self);
    assert.deepEqual(category.properties.children.items, self);
    assert.deepEqual(category.properties.bySlug.additionalProperties, self);
    const { assertValid, isValid } = schemaValidator(document);
    const pointer = "/components/schemas/catalog.v1.Category";
    assertValid(pointer, {
      name: "a",
      children: [{ name: "b", children: [{ parent: { name: "a" } }] }],
    });
    assert.ok(!isValid(pointer, { children: [{ children: [{ name: 7 }] }] }));
  });
});
