/**
 * The proto3 JSON rules a transcoded request and response follow, one test each, through
 * `POST /v1/echo` (body "*" into library.v1.Everything, echoed back): JSON → the request
 * mapping → binary → the response mapping → JSON.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import protobuf from "protobufjs";
import { fixtureProtoDir, loadLibrary } from "../../test/helpers/library-protos.ts";
import { compileRequestMapper } from "./request-mapping.ts";
import { compileResponseMapper, type ResponseMappingOptions } from "./response-mapping.ts";

const library = loadLibrary();
const registry = library.protos.registry;
const echo = library.binding("Echo");
const toBinary = compileRequestMapper(echo, { registry });

function requestBytes(body: unknown): Uint8Array {
  const result = toBinary({ variables: [], query: "", body: JSON.stringify(body) });
  if (!result.ok) throw new Error(result.error.message);
  return result.bytes;
}

/** The body sent through the echo, as the client gets it back. */
function roundTrip(body: unknown, options: ResponseMappingOptions = {}): unknown {
  const toJson = compileResponseMapper(echo.method.output, undefined, { registry, ...options });
  const result = toJson(requestBytes(body));
  if (!result.ok) throw new Error(result.error);
  return JSON.parse(result.json);
}

function refusal(body: unknown): string {
  const result = toBinary({ variables: [], query: "", body: JSON.stringify(body) });
  return result.ok ? "" : result.error.message;
}

describe("proto3 JSON through the transcoder", () => {
  it("prints 64-bit integers as strings and accepts numbers or strings", () => {
    assert.deepEqual(
      roundTrip({
        i64: 9007199254740993n.toString(),
        u64: 18446744073709551615n.toString(),
        s64: -5,
        f64: 7,
      }),
      { i64: "9007199254740993", u64: "18446744073709551615", s64: "-5", f64: "7" },
    );
  });

  it("accepts 32-bit integers and floats quoted, and the special float values", () => {
    assert.deepEqual(roundTrip({ i32: "12", dbl: "NaN", flt: "-Infinity" }), {
      i32: 12,
      dbl: "NaN",
      flt: "-Infinity",
    });
    assert.match(refusal({ i32: 1.5 }), /i32/);
    assert.match(refusal({ i32: 2 ** 31 }), /i32/);
  });

  it("prints enums by name and accepts their numbers", () => {
    assert.deepEqual(roundTrip({ genre: 2, genres: ["FICTION", 2] }), {
      genre: "HISTORY",
      genres: ["FICTION", "HISTORY"],
    });
    assert.equal(
      refusal({ genre: "POETRY" }),
      'body: cannot decode enum library.v1.Genre from JSON: "POETRY"',
    );
  });

  it("prints bytes as standard base64 and accepts the URL-safe alphabet", () => {
    assert.deepEqual(roundTrip({ data: "-_8" }), { data: "+/8=" });
  });

  it("reads and prints Timestamp as RFC 3339 in UTC", () => {
    assert.deepEqual(roundTrip({ at: "2024-05-06T07:08:09.5+02:00" }), {
      at: "2024-05-06T05:08:09.500Z",
    });
    assert.match(refusal({ at: "yesterday" }), /Timestamp from JSON: invalid RFC 3339/);
  });

  it("reads and prints Duration as seconds with an s suffix", () => {
    assert.deepEqual(roundTrip({ ttl: "1.5s" }), { ttl: "1.500s" });
    assert.match(refusal({ ttl: 90 }), /Duration from JSON: 90/);
  });

  it("reads and prints FieldMask as comma-separated camelCase paths", () => {
    assert.deepEqual(roundTrip({ mask: "displayName,nested.value" }), {
      mask: "displayName,nested.value",
    });
  });

  it("reads and prints Struct, Value and ListValue as plain JSON", () => {
    const meta = { a: 1, b: [true, null, "x"], c: { d: 2.5 } };
    assert.deepEqual(roundTrip({ meta, anything: "text", list: [1, "two", null] }), {
      meta,
      anything: "text",
      list: [1, "two", null],
    });
  });

  it("reads and prints wrappers as their bare value, 64-bit ones as strings", () => {
    assert.deepEqual(roundTrip({ maybeCount: 5, maybeName: "", maybeFlag: false }), {
      maybeCount: "5",
      maybeName: "",
      maybeFlag: false,
    });
  });

  it("reads and prints Any with its @type and the message's fields", () => {
    const detail = {
      "@type": "type.googleapis.com/library.v1.Book",
      title: "Dune",
      pageCount: "412",
    };
    assert.deepEqual(roundTrip({ detail }), { detail });
    const wkt = { "@type": "type.googleapis.com/google.protobuf.Duration", value: "2s" };
    assert.deepEqual(roundTrip({ detail: wkt }), { detail: wkt });
    assert.match(refusal({ detail: { "@type": "type.googleapis.com/no.Such" } }), /no\.Such/);
  });

  it("prints json_name, and accepts the proto name on input too", () => {
    assert.deepEqual(roundTrip({ display_name: "x" }), { label: "x" });
    assert.deepEqual(roundTrip({ label: "y" }), { label: "y" });
  });

  it("prints map keys as strings and reads them back into their key type", () => {
    assert.deepEqual(roundTrip({ counts: { a: 1 }, labels: { "7": "seven" } }), {
      counts: { a: "1" },
      labels: { "7": "seven" },
    });
    assert.match(refusal({ labels: { seven: "x" } }), /labels/);
  });

  it("reads nested and repeated messages", () => {
    assert.deepEqual(roundTrip({ nested: { value: 1 }, nesteds: [{ big: "2" }, {}] }), {
      nested: { value: 1 },
      nesteds: [{ big: "2" }, {}],
    });
  });

  it("leaves out fields at their default value, and treats null as not set", () => {
    assert.deepEqual(roundTrip({ i32: 0, text: "", flag: false, ids: [], nested: null }), {});
  });

  it("prints an optional field that is set, even to its default", () => {
    assert.deepEqual(roundTrip({ maybeI32: 0 }), { maybeI32: 0 });
  });

  it("keeps one member of a oneof and refuses two", () => {
    assert.deepEqual(roundTrip({ choiceNumber: 3 }), { choiceNumber: 3 });
    assert.match(refusal({ choiceText: "a", choiceNumber: 3 }), /choice/);
  });

  it("refuses fields the message does not have", () => {
    assert.match(refusal({ colour: "blue" }), /key "colour" is unknown/);
  });

  it("makes binary another protobuf implementation (protobufjs) reads the same", () => {
    const root = new protobuf.Root();
    root.resolvePath = (_, target) =>
      target.startsWith("google/")
        ? `${fixtureProtoDir}../../../src/grpc/protos/${target}`
        : `${fixtureProtoDir}${target}`;
    root.loadSync("library/v1/library.proto", { keepCase: true });
    const Everything = root.lookupType("library.v1.Everything");
    const decoded = Everything.toObject(
      Everything.decode(
        requestBytes({ i64: "-3", genre: "HISTORY", label: "x", counts: { a: 1 } }),
      ),
      { longs: String, enums: String },
    );
    assert.deepEqual(decoded, {
      i64: "-3",
      genre: "HISTORY",
      display_name: "x",
      counts: { a: "1" },
    });
  });
});
