/**
 * @module grpc/path-matcher
 * Matches a request's method and path against compiled path templates and returns what
 * was bound there plus the variables' values. Templates are sorted once, most specific
 * first (a literal beats `*`, `*` beats `**`, a verb beats none), so the first match wins
 * whatever order the `.proto` declared them in.
 *
 * Variables are percent-decoded. A variable of one segment is decoded fully (`%2F`
 * becomes `/`); one spanning several segments keeps `%2F` encoded, so a client can tell
 * the template's slashes from its own (http.proto's rule for multi-segment variables).
 */
import type { PathTemplate, TemplateSegment } from "./path-template.ts";

/** What a path matched: the bound value and each template variable's decoded value. */
export interface PathMatch<T> {
  value: T;
  /** In the order of `template.variables`. */
  variables: string[];
}

interface Entry<T> {
  template: PathTemplate;
  value: T;
  /** Variables made of exactly one `*` segment are decoded fully. */
  singleSegment: boolean[];
}

/** A set of (HTTP method, path template) → value bindings, matched most specific first. */
export class PathMatcher<T> {
  readonly #byMethod = new Map<string, Entry<T>[]>();

  /** Adds a binding. Call before the first {@link match}; adding re-sorts. */
  add(httpMethod: string, template: PathTemplate, value: T): void {
    const entries = this.#byMethod.get(httpMethod) ?? [];
    const singleSegment = template.variables.map(
      (v) => v.end - v.start === 1 && template.segments[v.start].kind === "any",
    );
    entries.push({ template, value, singleSegment });
    entries.sort((a, b) => compareSpecificity(a.template, b.template));
    this.#byMethod.set(httpMethod, entries);
  }

  /** The binding for this method and path (no query string), or undefined. */
  match(httpMethod: string, path: string): PathMatch<T> | undefined {
    const entries = this.#byMethod.get(httpMethod);
    if (entries === undefined || !path.startsWith("/")) return undefined;
    const raw = path.slice(1).split("/");
    for (const entry of entries) {
      const variables = matchEntry(entry, raw);
      if (variables !== undefined) return { value: entry.value, variables };
    }
    return undefined;
  }

  /** The HTTP methods some binding accepts for this path (for a 405's `Allow`). */
  methodsFor(path: string): string[] {
    return [...this.#byMethod.keys()].filter((method) => this.match(method, path) !== undefined);
  }
}

function matchEntry<T>(entry: Entry<T>, raw: string[]): string[] | undefined {
  const { segments, verb, variables } = entry.template;
  let parts = raw;
  if (verb !== undefined) {
    const last = parts[parts.length - 1];
    const suffix = `:${verb}`;
    if (!last.endsWith(suffix) || last.length === suffix.length) return undefined;
    parts = [...parts.slice(0, -1), last.slice(0, -suffix.length)];
  }
  const endsWithRest = segments.length > 0 && segments[segments.length - 1].kind === "rest";
  if (endsWithRest ? parts.length < segments.length - 1 : parts.length !== segments.length) {
    return undefined;
  }
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (segment.kind === "rest") break;
    if (segment.kind === "literal" && decode(parts[i]) !== segment.value) return undefined;
    if (segment.kind === "any" && parts[i] === "") return undefined;
  }
  const values: string[] = [];
  for (let v = 0; v < variables.length; v++) {
    const { start, end } = variables[v];
    const stop = segments[end - 1].kind === "rest" ? parts.length : end;
    const captured = parts.slice(start, stop);
    if (entry.singleSegment[v]) {
      const value = decode(captured[0]);
      if (value === undefined) return undefined;
      values.push(value);
      continue;
    }
    const decoded = captured.map(decode);
    if (decoded.includes(undefined)) return undefined;
    values.push(decoded.map((part) => part!.replaceAll("/", "%2F")).join("/"));
  }
  return values;
}

/** Percent-decodes one segment; undefined when the encoding is malformed. */
function decode(segment: string): string | undefined {
  if (!segment.includes("%")) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

const rank: Record<TemplateSegment["kind"], number> = { literal: 0, any: 1, rest: 2 };

/** Negative when `a` is more specific than `b`. */
function compareSpecificity(a: PathTemplate, b: PathTemplate): number {
  if ((a.verb === undefined) !== (b.verb === undefined)) return a.verb === undefined ? 1 : -1;
  const length = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < length; i++) {
    const difference = rank[a.segments[i].kind] - rank[b.segments[i].kind];
    if (difference !== 0) return difference;
  }
  return b.segments.length - a.segments.length;
}
