// Property test of the compiled route table against a reference matcher written here from
// the documented rules, with no radix tree and no candidate lists: of the (route, path)
// pairs whose host, path and header matchers take a request, the one with the highest
// priority wins; then the route for the exact host, then for the longest *.wildcard host,
// then for any host; then the most specific path (segment by segment static > :param > *,
// then the longer); then the route with more matchers; then the first written. When only
// the method refuses, the answer is 405 with every method that would have been taken.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { encodePathText } from "../../src/router/path-pattern.ts";
import { type RouteDefinition, RouteTable } from "../../src/router/route-table.ts";
import { checkProperty } from "../helpers/fuzz.ts";

type Part = { kind: "static"; text: string } | { kind: "param" } | { kind: "wildcard" };

const staticTexts = ["a", "b", "ab", "x:y", "é", ""];
const part: fc.Arbitrary<Part> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(...staticTexts).map((text) => ({ kind: "static", text }) as const),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "param" } as const) },
);
const pattern = fc
  .tuple(fc.array(part, { maxLength: 3 }), fc.boolean())
  .map(([parts, wildcard]): Part[] =>
    // No parts at all is the path `/`: one empty segment, as the config's `/` parses.
    wildcard
      ? [...parts, { kind: "wildcard" }]
      : parts.length > 0
        ? parts
        : [{ kind: "static", text: "" }],
  );

/** A pattern's config text; parameters named by position (names must differ within a path). */
const sourceOf = (parts: readonly Part[]): string =>
  `/${parts.map((p, i) => (p.kind === "static" ? p.text : p.kind === "param" ? `:p${i}` : "*")).join("/")}`;

const methods = ["GET", "POST", "DELETE"];
const route = fc.record({
  paths: fc.array(pattern, { minLength: 1, maxLength: 2 }),
  hosts: fc.option(fc.subarray(["a.test", "*.test", "*.b.test", "x.b.test"], { minLength: 1 }), {
    nil: undefined,
  }),
  methods: fc.option(fc.subarray(methods, { minLength: 1 }), { nil: undefined }),
  header: fc.option(fc.constantFrom("1", "2"), { nil: undefined }),
  priority: fc.oneof(
    { weight: 3, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: -1, max: 2 }) },
  ),
});
type Route = typeof route extends fc.Arbitrary<infer R> ? R : never;

const request = fc.record({
  method: fc.constantFrom("GET", "HEAD", "POST", "DELETE", "PUT"),
  host: fc.constantFrom("a.test", "x.b.test", "y.b.test", "b.test", "other.org"),
  segments: fc.array(fc.constantFrom(...staticTexts, "zz", "A"), { minLength: 1, maxLength: 4 }),
  header: fc.option(fc.constantFrom("1", "2"), { nil: undefined }),
});
type Request = typeof request extends fc.Arbitrary<infer R> ? R : never;

/** Whether a pattern takes a normalised path's segments, by the rules alone. */
function pathMatches(parts: readonly Part[], segments: readonly string[]): boolean {
  const wildcard = parts.at(-1)?.kind === "wildcard";
  const fixed = wildcard ? parts.length - 1 : parts.length;
  if (wildcard ? segments.length < parts.length : segments.length !== parts.length) return false;
  for (let i = 0; i < fixed; i++) {
    const p = parts[i]!;
    if (p.kind === "static" ? segments[i] !== p.text : segments[i] === "") return false;
  }
  return true;
}

/** How well a route's hosts fit: exact 1000, a wildcard by its suffix's length, any host -1; undefined: not at all. */
function hostRank(hosts: readonly string[] | undefined, host: string): number | undefined {
  if (!hosts) return -1;
  let best: number | undefined;
  for (const h of hosts) {
    if (h === host) best = 1000;
    else if (h.startsWith("*.") && host.endsWith(h.slice(1)) && host.length > h.length - 1)
      best = Math.max(best ?? 0, h.length - 1);
  }
  return best;
}

const rankOf = (p: Part) => (p.kind === "static" ? 2 : p.kind === "param" ? 1 : 0);
function specificity(a: readonly Part[], b: readonly Part[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const diff = rankOf(a[i]!) - rankOf(b[i]!);
    if (diff !== 0) return diff;
  }
  return a.length - b.length;
}

/** The reference answer: `route <index> <path>`, `404` or `405 <sorted methods>`. */
function reference(routes: readonly Route[], req: Request): string {
  const taken: { order: number; index: number; parts: Part[]; route: Route; host: number }[] = [];
  routes.forEach((r, order) => {
    const host = hostRank(r.hosts, req.host);
    if (host === undefined) return;
    if (r.header !== undefined && req.header !== r.header) return;
    r.paths.forEach((parts, index) => {
      if (pathMatches(parts, req.segments)) taken.push({ order, index, parts, route: r, host });
    });
  });
  const allows = (r: Route) =>
    !r.methods ||
    r.methods.includes(req.method) ||
    (req.method === "HEAD" && r.methods.includes("GET"));
  const serving = taken.filter((t) => allows(t.route));
  const count = (r: Route) => (r.methods ? 1 : 0) + (r.header !== undefined ? 1 : 0);
  serving.sort(
    (x, y) =>
      y.route.priority - x.route.priority ||
      y.host - x.host ||
      specificity(y.parts, x.parts) ||
      count(y.route) - count(x.route) ||
      x.order - y.order ||
      x.index - y.index,
  );
  const best = serving[0];
  if (best) return `route ${best.order} ${sourceOf(best.parts)}`;
  const allow = new Set<string>();
  for (const t of taken) for (const m of t.route.methods!) allow.add(m);
  if (allow.has("GET")) allow.add("HEAD");
  return allow.size > 0 ? `405 ${[...allow].sort().join(",")}` : "404";
}

function actual(table: RouteTable<number>, req: Request): string {
  const path = `/${req.segments.map(encodePathText).join("/")}`;
  const headers = req.header === undefined ? {} : { "x-v": req.header };
  const match = table.match(req.method, req.host, path, headers, "");
  if (match.kind === "route") return `route ${match.value} ${match.pattern.source}`;
  if (match.kind === "method-not-allowed") return `405 ${match.allow.split(", ").sort().join(",")}`;
  return match.kind === "not-found" ? "404" : `unexpected ${JSON.stringify(match)}`;
}

describe("router property: the route table agrees with a reference matcher", () => {
  it("answers every request as the documented precedence says", async () => {
    await checkProperty(
      fc.property(
        fc.array(route, { minLength: 1, maxLength: 8 }),
        fc.array(request, { minLength: 1, maxLength: 25 }),
        (routes, requests) => {
          const definitions: RouteDefinition<number>[] = routes.map((r, order) => ({
            value: order,
            paths: r.paths.map(sourceOf),
            priority: r.priority,
            ...(r.hosts && { hosts: r.hosts }),
            ...(r.methods && { methods: r.methods }),
            ...(r.header !== undefined && { headers: { "X-V": r.header } }),
          }));
          const table = new RouteTable(definitions);
          for (const req of requests) {
            const path = `/${req.segments.join("/")}`;
            assert.equal(
              actual(table, req),
              reference(routes, req),
              `${req.method} ${req.host} ${path}`,
            );
          }
        },
      ),
      300,
    );
  });
});
