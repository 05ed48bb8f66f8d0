/**
 * @module router/path-pattern
 * Route path patterns: `/exact`, `/users/:id`, `/files/*`. Parsed once at config load
 * into segments that give the find-my-way key, a specificity order, an overlap test
 * and a regular expression for the rare cases the radix tree cannot answer alone.
 */

/** One segment of a pattern: literal text, a named parameter, or the trailing wildcard. */
export type Segment =
  | { kind: "static"; text: string }
  | { kind: "param"; name: string }
  | { kind: "wildcard" };

/** A parsed path pattern. */
export interface PathPattern {
  source: string;
  segments: Segment[];
  /**
   * The key registered in find-my-way: literals spelt as in a normalised path
   * (percent-encoded), parameters renamed by position, `:` in text escaped.
   */
  treeKey: string;
  /** Matches a normalised path; group i is segment parameter i, the last group the wildcard. */
  regex: RegExp;
  paramNames: string[];
}

const paramName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parsed patterns by source text. A config load parses each path several times (schema,
 * checks, route table, rewrite) and a reload parses the same paths again; a pattern is a
 * frozen value, so one parse can serve them all.
 */
const parsed = new Map<string, PathPattern>();
/** Bounds the memory; past it the map starts over (an LRU's bookkeeping cost more than a parse saved). */
const maxParsed = 100_000;

/** Parses a route path; throws an Error whose message explains what is wrong. */
export function parsePathPattern(source: string): PathPattern {
  let pattern = parsed.get(source);
  if (!pattern) {
    pattern = freezePattern(parseUncached(source));
    if (parsed.size >= maxParsed) parsed.clear();
    parsed.set(source, pattern);
  }
  return pattern;
}

/** Shared between callers, so no caller may change it. */
function freezePattern(pattern: PathPattern): PathPattern {
  for (const segment of pattern.segments) Object.freeze(segment);
  Object.freeze(pattern.segments);
  Object.freeze(pattern.paramNames);
  return Object.freeze(pattern);
}

function parseUncached(source: string): PathPattern {
  if (!source.startsWith("/")) throw new Error(`path "${source}" must start with /`);
  if (/[?#\s]/.test(source)) throw new Error(`path "${source}" must not contain ?, # or spaces`);
  const parts = source.slice(1).split("/");
  const segments: Segment[] = [];
  const paramNames: string[] = [];
  parts.forEach((part, index) => {
    const isLast = index === parts.length - 1;
    if (part === "*") {
      if (!isLast) throw new Error(`path "${source}": * is only allowed as the last segment`);
      segments.push({ kind: "wildcard" });
    } else if (part.startsWith(":")) {
      const name = part.slice(1);
      if (!paramName.test(name)) throw new Error(`path "${source}": bad parameter name "${name}"`);
      if (paramNames.includes(name))
        throw new Error(`path "${source}": parameter "${name}" repeated`);
      paramNames.push(name);
      segments.push({ kind: "param", name });
    } else {
      if (part.includes("*")) throw new Error(`path "${source}": * must be a whole, last segment`);
      if (part.includes("%"))
        throw new Error(`path "${source}": write the path decoded, not with %`);
      // Request paths are normalised first, so a pattern with one could never match.
      if (part === "." || part === "..")
        throw new Error(`path "${source}": a dot segment (. or ..) can never match`);
      segments.push({ kind: "static", text: part });
    }
  });
  let position = 0;
  const treeKey = `/${segments
    .map((s) =>
      s.kind === "static"
        ? encodePathText(s.text).replaceAll(":", "::")
        : s.kind === "param"
          ? `:p${position++}`
          : "*",
    )
    .join("/")}`;
  const body = segments
    .map((s) =>
      s.kind === "static"
        ? escapeRegex(encodePathText(s.text))
        : s.kind === "param"
          ? "([^/]+)"
          : "(.*)",
    )
    .join("/");
  return { source, segments, treeKey, regex: new RegExp(`^/${body}$`), paramNames };
}

/** Positive when `a` is more specific than `b`: static beats param beats wildcard, segment by segment. */
export function compareSpecificity(a: PathPattern, b: PathPattern): number {
  const length = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < length; i++) {
    const diff = rank(a.segments[i]!) - rank(b.segments[i]!);
    if (diff !== 0) return diff;
  }
  return a.segments.length - b.segments.length;
}

const rank = (segment: Segment): number =>
  segment.kind === "static" ? 2 : segment.kind === "param" ? 1 : 0;

/** Whether some path could match both patterns (a safe over-approximation). */
export function mayOverlap(a: PathPattern, b: PathPattern): boolean {
  const length = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < length; i++) {
    const x = a.segments[i];
    const y = b.segments[i];
    if (!x || !y) return false;
    if (x.kind === "wildcard" || y.kind === "wildcard") return true;
    if (x.kind === "static" && y.kind === "static" && x.text !== y.text) return false;
  }
  return true;
}

/**
 * Patterns indexed by segment, to find every pattern that may overlap a given one (the
 * same answer as `mayOverlap` against each) without comparing all pairs: a table of many
 * routes under one prefix compiles in near-linear time.
 */
export class OverlapIndex<T> {
  readonly #root: IndexNode<T> = newNode();

  /** Adds `value` under `pattern`. */
  add(pattern: PathPattern, value: T): void {
    let node = this.#root;
    for (const segment of pattern.segments) {
      if (segment.kind === "wildcard") {
        node.wildcard.push(value);
        return;
      }
      if (segment.kind === "param") {
        node.param ??= newNode();
        node = node.param;
      } else {
        let next = node.statics.get(segment.text);
        if (!next) {
          next = newNode();
          node.statics.set(segment.text, next);
        }
        node = next;
      }
    }
    node.ends.push(value);
  }

  /** Calls `visit` for every value whose pattern may overlap `pattern` (itself included). */
  forEachOverlapping(pattern: PathPattern, visit: (value: T) => void): void {
    walk(this.#root, pattern.segments, 0, visit);
  }
}

interface IndexNode<T> {
  statics: Map<string, IndexNode<T>>;
  param: IndexNode<T> | undefined;
  /** Patterns whose wildcard is the next segment. */
  wildcard: T[];
  /** Patterns that end here. */
  ends: T[];
}

function newNode<T>(): IndexNode<T> {
  return { statics: new Map(), param: undefined, wildcard: [], ends: [] };
}

function walk<T>(
  node: IndexNode<T>,
  segments: readonly Segment[],
  at: number,
  visit: (value: T) => void,
): void {
  if (at === segments.length) {
    for (const value of node.ends) visit(value);
    return;
  }
  // A wildcard here matches whatever this pattern has from here on.
  for (const value of node.wildcard) visit(value);
  const segment = segments[at]!;
  if (segment.kind === "wildcard") {
    // And this pattern's wildcard matches every longer pattern below.
    for (const child of node.statics.values()) everything(child, visit);
    if (node.param) everything(node.param, visit);
    return;
  }
  if (segment.kind === "static") {
    const child = node.statics.get(segment.text);
    if (child) walk(child, segments, at + 1, visit);
  } else {
    for (const child of node.statics.values()) walk(child, segments, at + 1, visit);
  }
  if (node.param) walk(node.param, segments, at + 1, visit);
}

function everything<T>(node: IndexNode<T>, visit: (value: T) => void): void {
  for (const value of node.ends) visit(value);
  for (const value of node.wildcard) visit(value);
  for (const child of node.statics.values()) everything(child, visit);
  if (node.param) everything(node.param, visit);
}

/** The first segment's literal text, or undefined when it is a parameter or wildcard. */
export function firstStaticSegment(pattern: PathPattern): string | undefined {
  const first = pattern.segments[0];
  return first?.kind === "static" ? first.text : undefined;
}

const treeRegexes = new WeakMap<PathPattern, { maxParamLength: number; regex: RegExp }>();

/**
 * What finding a pattern's tree key amounts to when it is the only key under its first
 * segment: find-my-way lets a parameter be empty but no longer than `maxParamLength`, and a
 * wildcard take the rest. Kept per (shared, frozen) pattern, so a reload reuses it.
 */
export function treeMatchRegex(pattern: PathPattern, maxParamLength: number): RegExp {
  const cached = treeRegexes.get(pattern);
  if (cached?.maxParamLength === maxParamLength) return cached.regex;
  const body = pattern.segments
    .map((s) =>
      s.kind === "static"
        ? escapeRegex(encodePathText(s.text))
        : s.kind === "param"
          ? `([^/]{0,${maxParamLength}})`
          : "(.*)",
    )
    .join("/");
  const regex = new RegExp(`^/${body}$`);
  treeRegexes.set(pattern, { maxParamLength, regex });
  return regex;
}

/**
 * A literal path segment in the form a normalised request path spells it: reserved and
 * non-ASCII characters percent-encoded, so literals and paths compare as they are.
 */
export function encodePathText(text: string): string {
  return text.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@]/g, (char) =>
    encodeURIComponent(char).toUpperCase(),
  );
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
