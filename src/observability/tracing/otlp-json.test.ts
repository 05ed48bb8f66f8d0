// OTLP/JSON as the encoder writes it: times as nanosecond strings, strings quoted as JSON
// reads them back, and a whole span as a JSON reader sees it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { JsonWriter } from "./json-writer.ts";
import {
  attributeKey,
  intAttribute,
  SERVER,
  stringAttribute,
  writeSpanEnd,
  writeSpanStart,
  writeUnixNanos,
} from "./otlp-json.ts";

/** What `write` puts into a writer (a small buffer, so it has to grow), as text. */
function written(write: (out: JsonWriter) => void): string {
  const out = new JsonWriter(Buffer.alloc(4));
  write(out);
  return out.bytes.toString("utf8", 0, out.length);
}

describe("OTLP/JSON encoding", () => {
  it("writes unix times in nanoseconds, carrying a rounded-up fraction", () => {
    const nanos = (ms: number) => JSON.parse(written((out) => writeUnixNanos(out, ms)));
    assert.equal(nanos(1_765_000_000_123.25), "1765000000123250000");
    assert.equal(nanos(1_765_000_000_123), "1765000000123000000");
    assert.equal(nanos(1_765_000_001_007.0625), "1765000001007062500");
    assert.equal(nanos(999.5), "999500000");
    assert.equal(nanos(1_765_000_000_123 + 1e-7), "1765000000123000000");
    assert.equal(nanos(1_765_000_000_123 + 0.9999997), "1765000000124000000");
  });

  it("quotes any string so that JSON reads it back unchanged", () => {
    for (const text of [
      "/users/42",
      'a"b',
      "a\\b",
      "tab\there",
      "\u0000\u001f",
      "é",
      "\ud800",
      "\u{1f600}",
      "",
    ]) {
      assert.equal(JSON.parse(written((out) => out.string(text))), text);
      assert.equal(JSON.parse(written((out) => out.string("a", text, "z"))), `a${text}z`);
    }
  });

  it("writes whole numbers in decimal, padded when asked", () => {
    assert.equal(
      written((out) => out.integer(0)),
      "0",
    );
    assert.equal(
      written((out) => out.integer(8080)),
      "8080",
    );
    assert.equal(
      written((out) => out.integer(42, 6)),
      "000042",
    );
    assert.equal(
      written((out) => out.integer(Number.MAX_SAFE_INTEGER)),
      "9007199254740991",
    );
  });

  it("writes a span a JSON reader takes as the OTLP fields", () => {
    const span = JSON.parse(
      written((out) => {
        writeSpanStart(out, {
          traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
          spanId: "00f067aa0ba902b7",
          parentSpanId: "b7ad6b7169203331",
          traceState: "vendor=abc",
          name: "GET /users/:id",
          kind: SERVER,
          startMs: 1_765_000_000_000.5,
          endMs: 1_765_000_000_002,
        });
        stringAttribute(out, attributeKey('k"'), "v");
        intAttribute(out, attributeKey("http.response.status_code"), 503);
        stringAttribute(out, attributeKey("url.full"), "http://a:1", "/p");
        writeSpanEnd(out, true);
      }),
    );
    assert.deepEqual(span, {
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      parentSpanId: "b7ad6b7169203331",
      traceState: "vendor=abc",
      flags: 1,
      name: "GET /users/:id",
      kind: SERVER,
      startTimeUnixNano: "1765000000000500000",
      endTimeUnixNano: "1765000000002000000",
      attributes: [
        { key: 'k"', value: { stringValue: "v" } },
        { key: "http.response.status_code", value: { intValue: "503" } },
        { key: "url.full", value: { stringValue: "http://a:1/p" } },
      ],
      status: { code: 2 },
    });
    const root = JSON.parse(
      written((out) => {
        writeSpanStart(out, {
          traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
          spanId: "00f067aa0ba902b7",
          parentSpanId: "",
          traceState: "",
          name: "GET",
          kind: SERVER,
          startMs: 1,
          endMs: 2,
        });
        writeSpanEnd(out, false);
      }),
    );
    assert.deepEqual(Object.keys(root), [
      "traceId",
      "spanId",
      "flags",
      "name",
      "kind",
      "startTimeUnixNano",
      "endTimeUnixNano",
      "attributes",
    ]);
  });
});
