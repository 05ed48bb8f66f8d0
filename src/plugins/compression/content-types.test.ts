import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileContentTypes, contentTypePattern, defaultContentTypes } from "./content-types.ts";

describe("compressible content types", () => {
  const byDefault = compileContentTypes(defaultContentTypes);

  it("compresses text, JSON, XML, JavaScript and SVG by default", () => {
    for (const type of [
      "text/html; charset=utf-8",
      "text/plain",
      "TEXT/CSS",
      "application/json",
      "application/problem+json",
      "application/vnd.api+json; charset=utf-8",
      "application/xml",
      "application/atom+xml",
      "application/javascript",
      "image/svg+xml",
      "application/x-ndjson",
    ]) {
      assert.equal(byDefault(type), true, type);
    }
  });

  it("leaves out what is compressed already, events, and responses without a type", () => {
    for (const type of [
      "image/png",
      "image/jpeg",
      "video/mp4",
      "application/zip",
      "application/gzip",
      "font/woff2",
      "application/octet-stream",
      "application/grpc",
      "text/event-stream",
      "text/event-stream; charset=utf-8",
      "",
      undefined,
    ]) {
      assert.equal(byDefault(type), false, String(type));
    }
  });

  it("matches exact types, type/*, type/*+suffix and */*+suffix", () => {
    const test = compileContentTypes([
      "application/json",
      "font/*",
      "application/*+xml",
      "*/*+cbor",
    ]);
    assert.equal(test("application/json"), true);
    assert.equal(test("application/jsonx"), false);
    assert.equal(test("font/woff2"), true);
    assert.equal(test("application/rss+xml"), true);
    assert.equal(test("application/xml"), false);
    assert.equal(test("image/svg+xml"), false);
    assert.equal(test("image/x+cbor"), true);
    assert.equal(compileContentTypes(["*/*"])("video/mp4"), true);
    assert.equal(compileContentTypes(["*/*"])("text/event-stream"), false);
    assert.equal(compileContentTypes(["*/*"])("application/grpc-web-text"), false);
  });

  it("accepts only media-type patterns in the config", () => {
    for (const good of ["text/*", "application/*+json", "*/*+json", "image/svg+xml", "*/*"]) {
      assert.match(good, contentTypePattern);
    }
    for (const bad of ["json", "text/", "*/json", "application/**", "text/html; charset=utf-8"]) {
      assert.doesNotMatch(bad, contentTypePattern);
    }
  });
});
