// Unit tests for route path patterns: parsing, tree keys, regexes, specificity, overlap.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  compareSpecificity,
  firstStaticSegment,
  mayOverlap,
  OverlapIndex,
  type PathPattern,
  parsePathPattern,
} from "./path-pattern.ts";

const p = parsePathPattern;

describe("parsePathPattern", () => {
  it("parses static, parameter and wildcard segments", () => {
    assert.deepEqual(p("/users/:id/files/*").segments, [
      { kind: "static", text: "users" },
      { kind: "param", name: "id" },
      { kind: "static", text: "files" },
      { kind: "wildcard" },
    ]);
    assert.deepEqual(p("/users/:id/files/*").paramNames, ["id"]);
    assert.deepEqual(p("/").segments, [{ kind: "static", text: "" }]);
    assert.deepEqual(p("/a/").segments, [
      { kind: "static", text: "a" },
      { kind: "static", text: "" },
    ]);
  });

  it("names parameters by position in the tree key and escapes : in literals", () => {
    assert.equal(p("/users/:id/posts/:post").treeKey, "/users/:p0/posts/:p1");
    assert.equal(p("/users/:name/x").treeKey, p("/users/:id/x").treeKey);
    assert.equal(p("/a:b/:id").treeKey, "/a::b/:p0");
    assert.equal(p("/files/*").treeKey, "/files/*");
  });

  it("writes literals in the tree key as a normalised path spells them", () => {
    assert.equal(p("/café").treeKey, "/caf%C3%A9");
    assert.equal(p('/a"b').treeKey, "/a%22b");
    assert.equal(p("/a~b-c_d.e").treeKey, "/a~b-c_d.e");
  });

  for (const [source, message] of [
    ["users", /must start with \//],
    ["/a?b", /must not contain/],
    ["/a#b", /must not contain/],
    ["/a b", /must not contain/],
    ["/*/a", /only allowed as the last segment/],
    ["/a*", /whole, last segment/],
    ["/a/*b", /whole, last segment/],
    ["/:1x", /bad parameter name/],
    ["/:", /bad parameter name/],
    ["/:a-b", /bad parameter name/],
    ["/:id/:id", /repeated/],
    ["/a%20b", /decoded/],
    ["/a/../b", /dot segment/],
    ["/a/./b", /dot segment/],
    ["/..", /dot segment/],
  ] as const) {
    it(`rejects ${JSON.stringify(source)}`, () => {
      assert.throws(() => p(source), message);
    });
  }

  it("builds a regex over normalised paths", () => {
    const user = p("/users/:id").regex;
    assert.equal(user.test("/users/7"), true);
    assert.equal(user.test("/users/"), false);
    assert.equal(user.test("/users/7/x"), false);
    assert.equal(user.test("/users"), false);
    assert.deepEqual(user.exec("/users/a%2Fb")?.slice(1), ["a%2Fb"]);

    const files = p("/files/*").regex;
    assert.equal(files.test("/files/"), true);
    assert.equal(files.test("/files/a/b"), true);
    assert.equal(files.test("/files"), false);
    assert.equal(files.test("/filesx/a"), false);
    assert.deepEqual(p("/u/:a/:b/*").regex.exec("/u/1/2/x/y")?.slice(1), ["1", "2", "x/y"]);
  });

  it("parses a path once and shares the frozen result", () => {
    const pattern = p("/memo/:id/*");
    assert.equal(p("/memo/:id/*"), pattern);
    assert.ok(Object.isFrozen(pattern) && Object.isFrozen(pattern.segments));
    assert.throws(() => (pattern.segments as unknown[]).push({ kind: "wildcard" }), TypeError);
    // A bad path is an error every time, not a cached value.
    assert.throws(() => p("memo"), /must start with \//);
    assert.throws(() => p("memo"), /must start with \//);
  });

  it("escapes regex syntax and encodes literals in the regex", () => {
    assert.equal(p("/a.b").regex.test("/a.b"), true);
    assert.equal(p("/a.b").regex.test("/axb"), false);
    assert.equal(p("/(x)+").regex.test("/(x)+"), true);
    assert.equal(p("/café").regex.test("/caf%C3%A9"), true);
    assert.equal(p("/café").regex.test("/café"), false);
    assert.equal(p("/a:b").regex.test("/a:b"), true);
  });
});

describe("compareSpecificity", () => {
  const more = (a: string, b: string) => {
    assert.ok(compareSpecificity(p(a), p(b)) > 0, `${a} should beat ${b}`);
    assert.ok(compareSpecificity(p(b), p(a)) < 0, `${b} should lose to ${a}`);
  };

  it("ranks static over parameter over wildcard, segment by segment", () => {
    more("/a/b", "/a/:x");
    more("/a/:x", "/a/*");
    more("/a/b", "/a/*");
    more("/a/*", "/*");
    more("/:x/b", "/:x/:y");
    more("/a/:x/c", "/:x/b/c");
    more("/a/b/*", "/a/:x/c");
  });

  it("ranks a longer pattern over its prefix", () => {
    more("/a/b/c", "/a/b");
    more("/a/:x/:y", "/a/:x");
  });

  it("calls equal shapes equal", () => {
    assert.equal(compareSpecificity(p("/a/:x"), p("/a/:y")), 0);
    assert.equal(compareSpecificity(p("/a/*"), p("/a/*")), 0);
  });
});

describe("mayOverlap", () => {
  const overlap = (a: string, b: string, expected: boolean) => {
    assert.equal(mayOverlap(p(a), p(b)), expected, `${a} ~ ${b}`);
    assert.equal(mayOverlap(p(b), p(a)), expected, `${b} ~ ${a}`);
  };

  it("finds patterns some path could match both of", () => {
    overlap("/a/b", "/a/:x", true);
    overlap("/a/*", "/a/b/c", true);
    overlap("/*", "/x", true);
    overlap("/*", "/", true);
    overlap("/:x/b", "/a/:y", true);
  });

  it("rules out patterns no path could match both of", () => {
    overlap("/a/b", "/a/c", false);
    overlap("/a/b", "/a/b/c", false);
    overlap("/a/:x", "/a/:y/z", false);
    overlap("/a/*", "/a", false);
    overlap("/a/*", "/b/*", false);
  });

  it("agrees with the regexes on sample paths", () => {
    const patterns = ["/", "/*", "/a", "/a/*", "/a/:x", "/a/b", "/:x/b", "/a/:x/c", "/a/b/*"];
    const paths = ["/", "/a", "/a/", "/a/b", "/a/c", "/x/b", "/a/b/c", "/a/z/c", "/a/b/d/e"];
    const matches = (pattern: PathPattern, path: string) => pattern.regex.test(path);
    for (const a of patterns) {
      for (const b of patterns) {
        const both = paths.some((path) => matches(p(a), path) && matches(p(b), path));
        if (both) assert.equal(mayOverlap(p(a), p(b)), true, `${a} ~ ${b} share a path`);
      }
    }
  });
});

describe("firstStaticSegment", () => {
  it("gives the first literal, or undefined for a parameter or wildcard", () => {
    assert.equal(firstStaticSegment(p("/api/:x")), "api");
    assert.equal(firstStaticSegment(p("/")), "");
    assert.equal(firstStaticSegment(p("/:x/api")), undefined);
    assert.equal(firstStaticSegment(p("/*")), undefined);
  });
});

describe("OverlapIndex", () => {
  it("finds exactly the patterns mayOverlap accepts", () => {
    const sources = [
      "/",
      "/*",
      "/a",
      "/a/",
      "/a/*",
      "/a/:x",
      "/a/b",
      "/a/b/*",
      "/a/:x/c",
      "/:x",
      "/:x/b",
      "/:x/*",
      "/b/c/d",
      "/:x/:y/:z",
      "/a/b/c/*",
    ];
    const index = new OverlapIndex<string>();
    for (const source of sources) index.add(p(source), source);
    for (const source of sources) {
      const found: string[] = [];
      index.forEachOverlapping(p(source), (value) => found.push(value));
      const expected = sources.filter((other) => mayOverlap(p(source), p(other)));
      assert.deepEqual(found.sort(), expected.sort(), source);
    }
  });
});
