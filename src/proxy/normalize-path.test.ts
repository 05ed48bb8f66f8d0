// Unit tests for the one canonical request path the router and upstream both see.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type NormalizeOptions, normalizePath } from "./normalize-path.ts";

const reject: NormalizeOptions = { encodedSlashes: "reject", mergeSlashes: false };
const decode: NormalizeOptions = { encodedSlashes: "decode", mergeSlashes: false };
const keep: NormalizeOptions = { encodedSlashes: "keep", mergeSlashes: false };
const merge: NormalizeOptions = { encodedSlashes: "reject", mergeSlashes: true };

function table(options: NormalizeOptions, cases: [string, string | null][]): void {
  for (const [raw, expected] of cases) {
    assert.equal(normalizePath(raw, options), expected, JSON.stringify(raw));
  }
}

describe("normalizePath", () => {
  it("returns a clean path unchanged", () => {
    table(reject, [
      ["/", "/"],
      ["/a/b/c", "/a/b/c"],
      ["/a/b/", "/a/b/"],
      ["/a.b/c..d/.e/f.", "/a.b/c..d/.e/f."],
      ["/a:b@c!$&'()*+,;=", "/a:b@c!$&'()*+,;="],
    ]);
  });

  it("removes dot segments (RFC 3986 5.2.4)", () => {
    table(reject, [
      ["/a/./b/../c", "/a/c"],
      ["/a/b/..", "/a/"],
      ["/a/b/.", "/a/b/"],
      ["/..", "/"],
      ["/../..", "/"],
      ["/../a", "/a"],
      ["/a/../../b", "/b"],
      ["/./a", "/a"],
      ["/a/.../b", "/a/.../b"],
      ["/a//../b", "/a/b"],
    ]);
  });

  it("decodes %2e as a dot and then removes the segment", () => {
    table(reject, [
      ["/public/%2e%2e/admin", "/admin"],
      ["/public/%2E%2E/admin", "/admin"],
      ["/public/.%2e/admin", "/admin"],
      ["/public/%2e./admin", "/admin"],
      ["/public/%2e/admin", "/public/admin"],
      ["/a/%2e%2e", "/"],
      ["/a/%2e%2e%2e", "/a/..."],
    ]);
  });

  it("decodes unreserved characters and upper-cases the escapes it keeps", () => {
    table(reject, [
      ["/%7E", "/~"],
      ["/%7e%41%7a%30%2D%5f", "/~Az0-_"],
      ["/%3a%3F%23%20%25", "/%3A%3F%23%20%25"],
      ["/caf%c3%a9", "/caf%C3%A9"],
      ["/%FF", "/%FF"],
    ]);
  });

  it("never decodes twice", () => {
    table(reject, [
      ["/%252e%252e/x", "/%252e%252e/x"],
      ["/%2541", "/%2541"],
    ]);
  });

  it("encodes raw characters that are not allowed in a path", () => {
    table(reject, [
      ['/a"b', "/a%22b"],
      ["/a<b>", "/a%3Cb%3E"],
      ["/[x]{y}|^`", "/%5Bx%5D%7By%7D%7C%5E%60"],
    ]);
  });

  it("rejects NUL, invalid escapes and characters no path may hold", () => {
    table(reject, [
      ["/%00", null],
      ["/a%00b", null],
      ["/%zz", null],
      ["/%4", null],
      ["/%", null],
      ["/%g0", null],
      ["/%%41", null],
      ["/%4-", null],
      ["/a b", null],
      ["/a\tb", null],
      ["/a\u0000b", null],
      ["/a\u007fb", null],
      ["/é", null],
      ["/a#b", null],
      ["", null],
      ["a/b", null],
      ["*", null],
    ]);
  });

  it("rejects a dot segment with a ; parameter, which servlet containers resolve", () => {
    table(reject, [
      ["/public/..;/admin", null],
      ["/public/..;jsessionid=1/admin", null],
      ["/public/%2e%2e;/admin", null],
      ["/public/.;/x", null],
      ["/public/..;", null],
      ["/public/...;/x", "/public/...;/x"],
      ["/public/a..;/x", "/public/a..;/x"],
      ["/public/x;y=1/..", "/public/"],
      ["/public/..%3B/admin", "/public/..%3B/admin"],
    ]);
  });

  it("rejects %2F, %5C and \\ by default", () => {
    table(reject, [
      ["/a%2Fb", null],
      ["/a%2fb", null],
      ["/a%5Cb", null],
      ["/a%5cb", null],
      ["/a\\b", null],
      ["/..%2f", null],
    ]);
  });

  it("decodes %2F, %5C and \\ to / before removing dot segments, with decode", () => {
    table(decode, [
      ["/a%2Fb", "/a/b"],
      ["/a%5cb", "/a/b"],
      ["/a\\b", "/a/b"],
      ["/public/..%2fadmin", "/admin"],
      ["/public\\..\\admin", "/admin"],
      ["/public/%2e%2e%2Fadmin", "/admin"],
    ]);
  });

  it("keeps %2F and %5C encoded (upper case) and encodes \\, with keep", () => {
    table(keep, [
      ["/a%2fb", "/a%2Fb"],
      ["/a%5cb", "/a%5Cb"],
      ["/a\\b", "/a%5Cb"],
      ["/public/a%2Fb/../c", "/public/c"],
      ["/public/a..%2F..b", "/public/a..%2F..b"],
    ]);
  });

  it("refuses a kept %2F or %5C that hides a dot segment, with keep", () => {
    // Routed as one segment, `..%2Fadmin` is `../admin` to an upstream that decodes it.
    table(keep, [
      ["/public/..%2Fadmin", null],
      ["/public/%2e%2e%2fadmin", null],
      ["/public/x%5C..", null],
      ["/public/x\\.", null],
      ["/%2F./a", null],
    ]);
  });

  it("keeps repeated slashes unless mergeSlashes is on", () => {
    table(reject, [
      ["//a//b", "//a//b"],
      ["/a//", "/a//"],
    ]);
    table(merge, [
      ["//a//b", "/a/b"],
      ["/a//", "/a/"],
      ["//", "/"],
      ["///", "/"],
      ["/a///b/", "/a/b/"],
      ["/public//../admin", "/admin"],
      ["/a/.//b", "/a/b"],
    ]);
  });

  it("gives the same answer for a path and its own result (idempotent)", () => {
    const inputs = [
      "/a/./b/../c",
      "/public/%2e%2e/admin",
      "/%7e%41",
      "/caf%c3%a9",
      "/%252e",
      '/a"b',
      "/x/..",
      "/a/b/.",
    ];
    for (const options of [reject, decode, keep, merge]) {
      for (const input of inputs) {
        const once = normalizePath(input, options);
        if (once === null) continue;
        assert.equal(normalizePath(once, options), once, `${JSON.stringify(input)} → ${once}`);
      }
    }
  });
});
