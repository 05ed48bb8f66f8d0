// Unit tests for the forwarded path: stripPrefix and rewrite templates.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePathPattern } from "./path-pattern.ts";
import { compileRewrite } from "./rewrite.ts";

/** Rewrites `path`, matched by `source`, with the given options. */
function rewrite(
  options: { stripPrefix?: string; rewrite?: string },
  source: string,
  path: string,
): string {
  const pattern = parsePathPattern(source);
  return compileRewrite(options, [pattern])(path, pattern);
}

describe("stripPrefix", () => {
  it("removes a whole-segment prefix and leaves / when nothing is left", () => {
    assert.equal(rewrite({ stripPrefix: "/api" }, "/api/*", "/api/users/7"), "/users/7");
    assert.equal(rewrite({ stripPrefix: "/api" }, "/api", "/api"), "/");
    assert.equal(rewrite({ stripPrefix: "/api" }, "/api/*", "/api/"), "/");
    assert.equal(rewrite({ stripPrefix: "/api/v1" }, "/api/v1/*", "/api/v1/x"), "/x");
  });

  it("never cuts a segment in half", () => {
    assert.equal(rewrite({ stripPrefix: "/api" }, "/*", "/apix/y"), "/apix/y");
    assert.equal(rewrite({ stripPrefix: "/api" }, "/*", "/other"), "/other");
  });

  it("keeps a path unchanged with the prefix /", () => {
    assert.equal(rewrite({ stripPrefix: "/" }, "/*", "/a/b"), "/a/b");
  });

  it("compares the prefix in the normalised, percent-encoded form", () => {
    assert.equal(rewrite({ stripPrefix: "/café" }, "/café/*", "/caf%C3%A9/x"), "/x");
    assert.equal(rewrite({ stripPrefix: "/a b" }, "/*", "/a%20b/x"), "/x");
  });

  it("refuses %, ? and #", () => {
    for (const prefix of ["/caf%C3%A9", "/a?b", "/a#b"])
      assert.throws(() => compileRewrite({ stripPrefix: prefix }, []), /written decoded/);
  });
});

describe("rewrite templates", () => {
  it("fills parameters and the wildcard from the matched path", () => {
    assert.equal(
      rewrite({ rewrite: "/users/:id/profile" }, "/v2/users/:id", "/v2/users/42"),
      "/users/42/profile",
    );
    assert.equal(
      rewrite({ rewrite: "/:b/:a/*" }, "/x/:a/:b/*", "/x/1/2/rest/of/it"),
      "/2/1/rest/of/it",
    );
    assert.equal(rewrite({ rewrite: "/files/*" }, "/static/*", "/static/"), "/files/");
    assert.equal(rewrite({ rewrite: "/u/:id.json" }, "/users/:id", "/users/7"), "/u/7.json");
  });

  it("keeps parameter values as the normalised path has them", () => {
    assert.equal(rewrite({ rewrite: "/u/:id" }, "/users/:id", "/users/a%2Fb"), "/u/a%2Fb");
    assert.equal(rewrite({ rewrite: "/u/:id" }, "/users/:id", "/users/caf%C3%A9"), "/u/caf%C3%A9");
  });

  it("works for each of a route's paths", () => {
    const a = parsePathPattern("/a/:id");
    const b = parsePathPattern("/b/:x/:id");
    const rewriter = compileRewrite({ rewrite: "/item/:id" }, [a, b]);
    assert.equal(rewriter("/a/1", a), "/item/1");
    assert.equal(rewriter("/b/z/2", b), "/item/2");
  });

  it("percent-encodes literal text that a path may not hold raw", () => {
    assert.equal(rewrite({ rewrite: "/ü/:id" }, "/v/:id", "/v/1"), "/%C3%BC/1");
    assert.equal(rewrite({ rewrite: "/a b/*" }, "/v/*", "/v/x"), "/a%20b/x");
  });

  it("refuses a name or wildcard some path of the route lacks", () => {
    assert.throws(
      () =>
        compileRewrite({ rewrite: "/x/:id" }, [parsePathPattern("/a/:id"), parsePathPattern("/b")]),
      /rewrite uses :id but path "\/b" has no such part/,
    );
    assert.throws(
      () => compileRewrite({ rewrite: "/x/*" }, [parsePathPattern("/a/:id")]),
      /rewrite uses \* but path/,
    );
  });

  it("refuses a query, a fragment or an escape in the template", () => {
    for (const template of ["/x?y=1", "/x#top", "/x%2Fy"])
      assert.throws(() => compileRewrite({ rewrite: template }, []), /written decoded/);
  });

  it("refuses a template or prefix that makes a dot segment, which the upstream would resolve", () => {
    // `/x/..*` forwarded `/pub/` as `/x/..` and `/pub//a` as `/x/../a`: out from under /x.
    for (const template of ["/..", "/a/./b", "/x/..*", "/x/*..", "/x/*.*", "/x/*/.."])
      assert.throws(
        () => compileRewrite({ rewrite: template }, [parsePathPattern("/pub/*")]),
        /must not make a dot segment/,
        template,
      );
    assert.throws(
      () => compileRewrite({ stripPrefix: "/a/.." }, []),
      /must not make a dot segment/,
    );
    // Dots beside other text, or beside a parameter (never empty, never a dot segment), are fine.
    assert.equal(
      rewrite({ rewrite: "/x/.:id/*.json" }, "/v/:id/*", "/v/env/a/b"),
      "/x/.env/a/b.json",
    );
    assert.equal(rewrite({ rewrite: "/x/...*" }, "/v/*", "/v/"), "/x/...");
  });

  it("refuses stripPrefix together with rewrite", () => {
    assert.throws(
      () => compileRewrite({ stripPrefix: "/a", rewrite: "/b" }, []),
      /set stripPrefix or rewrite, not both/,
    );
  });
});
