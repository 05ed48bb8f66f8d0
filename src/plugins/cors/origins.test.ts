// The CORS origin list: which patterns load, and which origins each one admits.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileOrigins, type OriginPattern, originPatternProblem } from "./origins.ts";

function admits(patterns: OriginPattern[], origin: string): boolean {
  return compileOrigins(patterns).test(origin);
}

describe("cors origins", () => {
  it("accepts origins, wildcards, regexes and *; refuses anything else", () => {
    for (const ok of [
      "*",
      "https://app.example.org",
      "http://localhost:3000",
      "*.example.com",
      "https://*.example.com:8443",
      { regex: "https://[a-z]+\\.test" },
    ]) {
      assert.equal(originPatternProblem(ok), undefined, JSON.stringify(ok));
    }
    for (const bad of [
      "app.example.org",
      "https://app.example.org/path",
      "https://app.example.org?x",
      "https://*example.com",
      "https://a.*.example.com",
      "null",
      { regex: "[" },
    ]) {
      assert.ok(originPatternProblem(bad), JSON.stringify(bad));
    }
  });

  it("matches exact origins exactly (a trailing slash in config is tolerated)", () => {
    assert.ok(admits(["https://app.example.org/"], "https://app.example.org"));
    assert.ok(!admits(["https://app.example.org"], "http://app.example.org"));
    assert.ok(!admits(["https://app.example.org"], "https://app.example.org:8443"));
  });

  it("matches wildcard subdomains by scheme, domain and port", () => {
    assert.ok(admits(["*.example.com"], "http://a.example.com"));
    assert.ok(admits(["*.example.com"], "https://a.b.example.com"));
    assert.ok(!admits(["*.example.com"], "https://example.com"));
    assert.ok(!admits(["*.example.com"], "https://example.com.evil.com"));
    assert.ok(!admits(["*.example.com"], "https://aexample.com"));
    assert.ok(!admits(["https://*.example.com"], "http://a.example.com"));
    assert.ok(admits(["https://*.example.com:8443"], "https://a.example.com:8443"));
    assert.ok(!admits(["https://*.example.com:8443"], "https://a.example.com"));
  });

  it("anchors regexes to the whole origin", () => {
    assert.ok(admits([{ regex: "https://a\\.test" }], "https://a.test"));
    assert.ok(!admits([{ regex: "https://a\\.test" }], "https://a.test.evil.com"));
    assert.ok(!admits([{ regex: "https://a\\.test" }], "https://x.https://a.test"));
    assert.ok(admits([{ regex: "https://a\\.test|https://b\\.test" }], "https://b.test"));
    assert.ok(!admits([{ regex: "https://a\\.test|https://b\\.test" }], "https://b.test.evil"));
  });

  it("reports * as any origin", () => {
    assert.deepEqual(compileOrigins(["https://a.test", "*"]).any, true);
    assert.deepEqual(compileOrigins(["https://a.test"]).any, false);
  });
});
