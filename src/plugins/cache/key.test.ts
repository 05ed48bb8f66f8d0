import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  compilePrimaryKey,
  type KeyedRequest,
  normaliseAcceptEncoding,
  variantKey,
} from "./key.ts";
import { cacheKeySchema } from "./schema.ts";

const base: KeyedRequest = {
  method: "GET",
  scheme: "http",
  host: "shop.example",
  path: "/items",
  query: "",
  headers: {},
  consumer: undefined,
  apiVersion: undefined,
};

describe("cache keys", () => {
  const allParts = compilePrimaryKey(
    cacheKeySchema.parse({ query: "all", headers: ["x-tenant", "x-region"], consumer: true }),
  );

  it("no crafted separators make two different requests share a key", () => {
    // Pairs that a key joined with separators (`|`, `:`, `=`, `&`, newlines) would merge.
    const requests: KeyedRequest[] = [
      { ...base, host: "a", path: "/b|c" },
      { ...base, host: "a/b", path: "|c" },
      { ...base, host: "a|/b", path: "/c" },
      { ...base, path: "/x", query: "a=1&b=2" },
      { ...base, path: "/x", query: "a=1%26b%3D2" },
      { ...base, path: "/x?a=1", query: "" },
      { ...base, path: "/x", query: "a%3D1" },
      { ...base, headers: { "x-tenant": "a", "x-region": "b" } },
      { ...base, headers: { "x-tenant": "a|b" } },
      { ...base, headers: { "x-tenant": "a", "x-region": "" } },
      { ...base, headers: { "x-tenant": "a" } },
      { ...base, headers: { "x-tenant": "", "x-region": "a" } },
      { ...base, headers: { "x-region": "a" } },
      { ...base, consumer: "" },
      { ...base, consumer: undefined },
      { ...base, consumer: "alice" },
      { ...base, headers: { "x-tenant": "alice" } },
      { ...base, scheme: "https" },
      { ...base, scheme: "http:", host: "//shop.example" },
      { ...base, path: "/items\n5:https" },
      { ...base, method: "POST" },
      { ...base, headers: { "accept-encoding": "gzip" } },
      { ...base, headers: { "accept-encoding": "gzip,br" } },
      { ...base, headers: { "accept-encoding": "gzip", "x-tenant": "br" } },
      { ...base, apiVersion: "2" },
      { ...base, apiVersion: "" },
      { ...base, apiVersion: "2", consumer: undefined, headers: { "x-tenant": "2" } },
    ];
    const keys = requests.map((request) => allParts(request));
    assert.equal(new Set(keys).size, requests.length);
  });

  it("the same resource asked for differently shares a key", () => {
    assert.equal(allParts({ ...base, method: "HEAD" }), allParts(base));
    assert.equal(allParts({ ...base, host: "SHOP.example" }), allParts(base));
    assert.equal(allParts({ ...base, query: "b=2&a=1" }), allParts({ ...base, query: "a=1&b=2" }));
    assert.equal(
      allParts({ ...base, headers: { "accept-encoding": "br, gzip" } }),
      allParts({ ...base, headers: { "accept-encoding": "GZIP;q=0.5,br,zstd;q=0" } }),
    );
  });

  it("query: none and a list of names leave the other arguments out", () => {
    const none = compilePrimaryKey(cacheKeySchema.parse({ query: "none" }));
    assert.equal(none({ ...base, query: "a=1" }), none(base));
    const some = compilePrimaryKey(cacheKeySchema.parse({ query: ["page"] }));
    assert.equal(some({ ...base, query: "page=2&utm=x" }), some({ ...base, query: "page=2" }));
    assert.notEqual(some({ ...base, query: "page=2" }), some({ ...base, query: "page=3" }));
  });

  it("variant keys tell header values apart, however they are split", () => {
    const a = variantKey("k", ["x-a", "x-b"], { "x-a": "1", "x-b": "2" });
    const b = variantKey("k", ["x-a", "x-b"], { "x-a": "1x-b2" });
    const c = variantKey("k", ["x-a", "x-b"], { "x-a": "1", "x-b": "" });
    const d = variantKey("k", ["x-a", "x-b"], { "x-a": "1" });
    assert.equal(new Set([a, b, c, d]).size, 4);
  });

  it("normalises Accept-Encoding to the sorted codings a client takes", () => {
    assert.equal(normaliseAcceptEncoding("gzip, deflate, br"), "br,deflate,gzip");
    assert.equal(normaliseAcceptEncoding("br;q=0, gzip;q=0.5"), "gzip");
    assert.equal(normaliseAcceptEncoding(undefined), "");
  });
});
