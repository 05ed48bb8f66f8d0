import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { httpsLocation } from "./https-redirect.ts";

describe("httpsLocation", () => {
  it("keeps the host and target, swaps the port, and leaves 443 out", () => {
    assert.equal(httpsLocation("shop.test:8080", "/a?b=1", 8443), "https://shop.test:8443/a?b=1");
    assert.equal(httpsLocation("shop.test", "/", 443), "https://shop.test/");
    assert.equal(httpsLocation("[::1]:80", "/x", 443), "https://[::1]/x");
  });

  it("has no location for a missing or unusable Host, and sends other targets to /", () => {
    assert.equal(httpsLocation(undefined, "/", 443), undefined);
    assert.equal(httpsLocation("evil.test/path", "/", 443), undefined);
    assert.equal(httpsLocation("a@b", "/", 443), undefined);
    assert.equal(httpsLocation("shop.test", "*", 443), "https://shop.test/");
  });
});
