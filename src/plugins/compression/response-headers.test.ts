import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addVaryAcceptEncoding, compressibleResponse, markCompressed } from "./response-headers.ts";

const json = ["Content-Type", "application/json", "Content-Length", "4096"];

describe("compression response headers", () => {
  it("reads the type and length of a response that may be compressed", () => {
    assert.deepEqual(compressibleResponse("GET", 200, json), {
      contentType: "application/json",
      contentLength: 4096,
    });
    assert.deepEqual(compressibleResponse("POST", 404, ["content-encoding", "identity"]), {
      contentType: undefined,
      contentLength: undefined,
    });
  });

  it("passes what must not be compressed", () => {
    assert.equal(compressibleResponse("HEAD", 200, json), undefined);
    for (const status of [101, 204, 206, 304]) {
      assert.equal(compressibleResponse("GET", status, json), undefined, String(status));
    }
    for (const extra of [
      ["Content-Encoding", "gzip"],
      ["content-encoding", "br"],
      ["content-range", "bytes 0-99/4096"],
      ["Cache-Control", "public, No-Transform"],
      ["cache-control", "no-transform"],
    ]) {
      assert.equal(compressibleResponse("GET", 200, [...json, ...extra]), undefined, extra[1]);
    }
    // A directive that merely contains the words is not no-transform.
    assert.ok(
      compressibleResponse("GET", 200, [...json, "cache-control", 'private="no-transformx"']),
    );
  });

  it("merges Accept-Encoding into Vary once", () => {
    const none: string[] = [];
    addVaryAcceptEncoding(none);
    assert.deepEqual(none, ["vary", "Accept-Encoding"]);
    const origin = ["Vary", "Origin"];
    addVaryAcceptEncoding(origin);
    assert.deepEqual(origin, ["Vary", "Origin, Accept-Encoding"]);
    for (const present of [
      ["vary", "accept-encoding"],
      ["vary", "*"],
      ["vary", "Origin", "vary", "Accept-Encoding"],
    ]) {
      const headers = [...present];
      addVaryAcceptEncoding(headers);
      assert.deepEqual(headers, present);
    }
  });

  it("names the coding, drops the length and ranges, and weakens a strong ETag", () => {
    const headers = [...json, "ETag", '"abc"', "Accept-Ranges", "bytes"];
    markCompressed(headers, "gzip");
    assert.deepEqual(headers, [
      "Content-Type",
      "application/json",
      "ETag",
      'W/"abc"',
      "content-encoding",
      "gzip",
    ]);
    const weak = ["etag", 'W/"abc"'];
    markCompressed(weak, "br");
    assert.deepEqual(weak, ["etag", 'W/"abc"', "content-encoding", "br"]);
  });
});
