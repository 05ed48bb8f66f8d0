// OTLP/JSON pieces: times as nanosecond strings, strings quoted as JSON reads them back.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attributeKey, quote, stringAttribute, unixNanos } from "./otlp-json.ts";

describe("OTLP/JSON encoding", () => {
  it("writes unix times in nanoseconds, carrying a rounded-up fraction", () => {
    assert.equal(unixNanos(1_765_000_000_123.25), "1765000000123250000");
    assert.equal(unixNanos(1_765_000_000_123), "1765000000123000000");
    assert.equal(unixNanos(1_765_000_000_123 + 1e-7), "1765000000123000000");
    assert.equal(unixNanos(1_765_000_000_123 + 0.9999997), "1765000000124000000");
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
      "",
    ]) {
      assert.equal(JSON.parse(quote(text)), text);
    }
    assert.deepEqual(JSON.parse(stringAttribute(attributeKey('k"'), "v")), {
      key: 'k"',
      value: { stringValue: "v" },
    });
  });
});
