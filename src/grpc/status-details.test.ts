import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { loadLibrary } from "../../test/helpers/library-protos.ts";
import { decodeStatusDetails } from "./status-details.ts";

const { registry } = loadLibrary().protos;

function message(typeName: string, init: MessageInitShape<DescMessage>) {
  const schema = registry.getMessage(typeName)!;
  return { schema, value: create(schema, init) };
}

/** A `grpc-status-details-bin` value as a service would send it. */
function detailsHeader(code: number, text: string, details: ReturnType<typeof message>[]): string {
  const status = message("google.rpc.Status", {
    code,
    message: text,
    details: details.map(({ schema, value }) => anyPack(schema, value)),
  });
  return base64Encode(toBinary(status.schema, status.value));
}

describe("decodeStatusDetails", () => {
  it("decodes google.rpc error details into their JSON form", () => {
    const badRequest = message("google.rpc.BadRequest", {
      fieldViolations: [{ field: "book.title", description: "must not be empty" }],
    });
    const info = message("google.rpc.ErrorInfo", { reason: "TITLE_MISSING", domain: "library" });
    assert.deepEqual(
      decodeStatusDetails(detailsHeader(3, "bad book", [badRequest, info]), registry),
      {
        code: 3,
        message: "bad book",
        details: [
          {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            fieldViolations: [{ field: "book.title", description: "must not be empty" }],
          },
          {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            reason: "TITLE_MISSING",
            domain: "library",
          },
        ],
      },
    );
  });

  it("decodes details of the user's own message types", () => {
    const book = message("library.v1.Book", { name: "shelves/1/books/1" });
    assert.deepEqual(decodeStatusDetails(detailsHeader(5, "", [book]), registry)?.details, [
      { "@type": "type.googleapis.com/library.v1.Book", name: "shelves/1/books/1" },
    ]);
  });

  it("keeps a detail of an unknown type as its type URL and base64 bytes", () => {
    const status = message("google.rpc.Status", {
      code: 9,
      details: [{ typeUrl: "type.googleapis.com/other.Thing", value: new Uint8Array([1, 2]) }],
    });
    const header = base64Encode(toBinary(status.schema, status.value));
    assert.deepEqual(decodeStatusDetails(header, registry)?.details, [
      { "@type": "type.googleapis.com/other.Thing", value: "AQI=" },
    ]);
  });

  it("ignores a missing or broken header rather than failing", () => {
    assert.equal(decodeStatusDetails(undefined, registry), undefined);
    assert.equal(decodeStatusDetails("", registry), undefined);
    assert.equal(decodeStatusDetails("not base64!", registry), undefined);
    assert.equal(
      decodeStatusDetails(base64Encode(new Uint8Array([0x0a, 0xff])), registry),
      undefined,
    );
  });
});
