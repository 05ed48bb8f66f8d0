// Unit tests for reading a request's API version in each versioning mode.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileVersionReader } from "./api-version.ts";

describe("compileVersionReader", () => {
  it("compiles to nothing without versioning", () => {
    assert.equal(compileVersionReader(undefined), undefined);
  });

  it("reads a header, trimmed, or gives the default", () => {
    const read = compileVersionReader({ header: "Api-Version", default: "1" })!;
    assert.deepEqual(read("/a", { "api-version": " 2 " }, ""), { version: "2", path: "/a" });
    assert.deepEqual(read("/a", {}, ""), { version: "1", path: "/a" });
    assert.deepEqual(read("/a", { "api-version": "" }, ""), { version: "1", path: "/a" });
  });

  it("finds the media type anywhere in Accept, parameters and case aside", () => {
    const read = compileVersionReader({ accept: "application/vnd.shop.v{version}+json" })!;
    const version = (accept: string) => read("/", { accept }, "").version;
    assert.equal(version("application/vnd.shop.v2+json"), "2");
    assert.equal(version("text/html, Application/VND.shop.v3+JSON;q=0.5"), "3");
    assert.equal(version("application/vnd.shop.v2+jsonx"), undefined);
    assert.equal(version("application/vnd.shopXv2+json"), undefined);
  });

  it("takes a leading path segment off the path", () => {
    const read = compileVersionReader({ path: "/v{version}", default: "1" })!;
    assert.deepEqual(read("/v2/orders/7", {}, ""), { version: "2", path: "/orders/7" });
    assert.deepEqual(read("/v2", {}, ""), { version: "2", path: "/" });
    assert.deepEqual(read("/videos/7", {}, ""), { version: "1", path: "/videos/7" });
    assert.deepEqual(read("/orders", {}, ""), { version: "1", path: "/orders" });
  });

  it("reads a query argument", () => {
    const read = compileVersionReader({ query: "version" })!;
    assert.equal(read("/", {}, "a=1&version=2").version, "2");
    assert.equal(read("/", {}, "a=1").version, undefined);
    assert.equal(read("/", {}, "").version, undefined);
  });
});
