// Property tests of path normalisation and of the forwarded path, on raw paths built from
// the pieces traversal attempts are made of (dot segments plain and encoded, encoded
// slashes and backslashes, doubled slashes, double encoding, `;` parameters): the
// normalised path is a fixed point, holds no dot segment however it is decoded, and a
// route's stripPrefix or rewrite keeps the forwarded path under the route's prefix.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { type NormalizeOptions, normalizePath } from "../../src/proxy/normalize-path.ts";
import { encodePathText, parsePathPattern } from "../../src/router/path-pattern.ts";
import { compileRewrite } from "../../src/router/rewrite.ts";
import { checkProperty } from "../helpers/fuzz.ts";
import { rawPath } from "./paths.ts";

const options: fc.Arbitrary<NormalizeOptions> = fc.record({
  encodedSlashes: fc.constantFrom("reject", "decode", "keep"),
  mergeSlashes: fc.boolean(),
});

/** A path's `/` segments with every escape decoded, `%2F` and `%5C` (and `\`) splitting too. */
function decodedSegments(path: string): string[] {
  const bytes = path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
  return bytes.split(/[/\\]/);
}

const isDot = (segment: string) => segment === "." || segment === "..";

describe("path normalisation properties", () => {
  it("normalising twice gives what normalising once gave", async () => {
    await checkProperty(
      fc.property(rawPath, options, (raw, opts) => {
        const once = normalizePath(raw, opts);
        if (once !== null) assert.equal(normalizePath(once, opts), once);
      }),
      3000,
    );
  });

  it("leaves no dot segment, plain or encoded, and no // when merging", async () => {
    await checkProperty(
      fc.property(rawPath, options, (raw, opts) => {
        const path = normalizePath(raw, opts);
        if (path === null) return;
        assert.ok(path.startsWith("/"));
        assert.ok(!/[\s\\#\u007f-\uffff]/.test(path), "a raw character that needs escaping");
        const dots = decodedSegments(path).filter(isDot);
        assert.deepEqual(dots, [], `dot segments in ${path}`);
        if (opts.encodedSlashes !== "keep") assert.ok(!/%2F|%5C/i.test(path));
        if (opts.mergeSlashes) assert.ok(!path.includes("//"));
      }),
      3000,
    );
  });
});

/** One segment of a route pattern as written in config (decoded). */
const patternPart = fc.constantFrom("api", "v1", "a.b", "x", ":id", ":name");
/** Literal text of a rewrite template, dots included. */
const templateText = fc.constantFrom("/up", "/in/", ".", "..", "/.", "/..", "-", ".json", "/v2");

const route = fc
  .tuple(fc.array(patternPart, { minLength: 1, maxLength: 3 }), fc.boolean())
  .map(([parts, wildcard]) => {
    const names = new Set<string>();
    // Parameter names must differ within a path.
    const unique = parts.filter((p) => !p.startsWith(":") || (!names.has(p) && names.add(p)));
    return `/${[...unique, ...(wildcard ? ["*"] : [])].join("/")}`;
  });

/** A rewrite template using some of the route's parameters and wildcard. */
const template = (source: string) => {
  const pattern = parsePathPattern(source);
  const tokens = [
    ...pattern.paramNames.map((name) => `:${name}`),
    ...(pattern.segments.at(-1)?.kind === "wildcard" ? ["*"] : []),
  ];
  const piece =
    tokens.length > 0 ? fc.oneof(templateText, fc.constantFrom(...tokens)) : templateText;
  return fc.array(piece, { maxLength: 5 }).map((pieces) => `/${pieces.join("")}`);
};

describe("forwarded path properties", () => {
  it("a rewrite never forwards a dot segment; stripPrefix removes exactly its prefix", async () => {
    const cases = route.chain((source) =>
      fc.record({
        source: fc.constant(source),
        template: template(source),
        raw: rawPath,
        options,
      }),
    );
    await checkProperty(
      fc.property(cases, ({ source, template, raw, options }) => {
        const pattern = parsePathPattern(source);
        // A path the route takes: its literals, and the raw pieces for its parameters and wildcard.
        const filled = pattern.segments
          .map((s, i) =>
            s.kind === "static"
              ? s.text
              : s.kind === "param"
                ? `p${i}${raw.slice(1, 6)}`
                : raw.slice(1),
          )
          .join("/");
        const path = normalizePath(`/${filled}`, options);
        fc.pre(path !== null && pattern.regex.test(path));
        const forwarded = (options: { stripPrefix?: string; rewrite?: string }) => {
          try {
            return compileRewrite(options, [pattern])(path!, pattern);
          } catch {
            return undefined; // the config refuses this route: nothing is forwarded
          }
        };
        const rewritten = forwarded({ rewrite: template });
        if (rewritten !== undefined) {
          // With `keep`, an encoded slash in a parameter is data the upstream is to keep.
          const segments =
            options.encodedSlashes === "keep" ? rewritten.split("/") : decodedSegments(rewritten);
          assert.deepEqual(segments.filter(isDot), [], `${template} gave ${rewritten}`);
          const literal = template.split(/:[A-Za-z_]|\*/)[0]!;
          assert.ok(rewritten.startsWith(literal.split("/").map(encodePathText).join("/")));
        }
        // stripPrefix: the route's leading literal segments, removed whole and nothing more.
        const prefix = source.split(/\/[:*]/)[0]!;
        if (prefix === "") return;
        const stripped = forwarded({ stripPrefix: prefix });
        const written = prefix.split("/").map(encodePathText).join("/");
        const rest = path!.slice(written.length);
        assert.ok(path!.startsWith(written));
        assert.equal(stripped, rest === "" ? "/" : rest);
      }),
      2000,
    );
  });
});
