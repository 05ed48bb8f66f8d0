/**
 * @module router/route-definition
 * One route as the table takes it (paths, hosts, methods, header, query and version
 * matchers), checked and prepared once: its patterns parsed, its matchers compiled into
 * the tests a candidate runs per request.
 */
import type { StringMatcherConfig } from "../config/schema/index.ts";
import { type PathPattern, parsePathPattern } from "./path-pattern.ts";

/** What the table needs to know about one route. */
export interface RouteDefinition<R> {
  value: R;
  hosts?: readonly string[];
  paths: readonly string[];
  methods?: readonly string[];
  headers?: Readonly<Record<string, StringMatcherConfig>>;
  query?: Readonly<Record<string, StringMatcherConfig>>;
  /** The API versions the route serves (see router/api-version); omitted means any. */
  version?: string | readonly string[];
  priority: number;
}

/** A route found for a request; the same object is returned for every match of it. */
export interface RouteHit<R> {
  kind: "route";
  value: R;
  pattern: PathPattern;
}
export type RouteMatch<R> =
  | RouteHit<R>
  | { kind: "not-found" }
  | { kind: "method-not-allowed"; allow: string }
  | { kind: "version-not-found"; versions: string[] };

/** A problem in one route definition, pointing at the offending path or host. */
export class RouteDefinitionError extends Error {
  readonly routeIndex: number;
  readonly field: "paths" | "hosts" | "headers" | "query";
  readonly itemIndex: number | string;
  constructor(
    routeIndex: number,
    field: RouteDefinitionError["field"],
    item: number | string,
    message: string,
  ) {
    super(message);
    this.routeIndex = routeIndex;
    this.field = field;
    this.itemIndex = item;
  }
}

/** A compiled header, query or cookie matcher: whether a value (or its absence) passes. */
export type ValueTest = (value: string | undefined) => boolean;

/** One route under one tree key: what a request must pass for the route to take it. */
export interface Candidate<R> {
  hit: RouteHit<R>;
  /** True when find-my-way matched this candidate's own pattern, so no regex check is needed. */
  own: boolean;
  methods: ReadonlySet<string> | undefined;
  headers: [string, ValueTest][] | undefined;
  query: [string, ValueTest][] | undefined;
  versions: ReadonlySet<string> | undefined;
  priority: number;
  order: number;
}

/** A route checked and compiled, before it is placed in the trees of its hosts. */
export interface PreparedRoute<R> extends Omit<Candidate<R>, "hit" | "own"> {
  value: R;
  patterns: PathPattern[];
  hosts: string[] | undefined;
}

/** Checks and compiles one route; throws RouteDefinitionError at the first bad part. */
export function prepare<R>(definition: RouteDefinition<R>, order: number): PreparedRoute<R> {
  const patterns = definition.paths.map((path, i) => {
    try {
      return parsePathPattern(path);
    } catch (error) {
      throw new RouteDefinitionError(order, "paths", i, (error as Error).message);
    }
  });
  const hosts = definition.hosts?.map((host, i) => {
    const normal = host.toLowerCase();
    if (
      !/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$|^\[[0-9a-f:.]+\]$/.test(
        normal,
      )
    ) {
      throw new RouteDefinitionError(
        order,
        "hosts",
        i,
        `"${host}" is not a host name or *.wildcard`,
      );
    }
    return normal;
  });
  const methods = definition.methods ? new Set(definition.methods) : undefined;
  // A route that serves GET serves HEAD too, as HTTP expects.
  if (methods?.has("GET")) methods.add("HEAD");
  return {
    value: definition.value,
    patterns,
    hosts,
    methods,
    headers: compileMatchers(definition.headers, order, "headers", (name) => name.toLowerCase()),
    query: compileMatchers(definition.query, order, "query", (name) => name),
    versions:
      definition.version === undefined
        ? undefined
        : new Set(
            typeof definition.version === "string" ? [definition.version] : definition.version,
          ),
    priority: definition.priority,
    order,
  };
}

function compileMatchers(
  matchers: Readonly<Record<string, StringMatcherConfig>> | undefined,
  order: number,
  field: "headers" | "query",
  keyOf: (name: string) => string,
): [string, ValueTest][] | undefined {
  if (!matchers) return undefined;
  const compiled = Object.entries(matchers).map(([name, matcher]): [string, ValueTest] => {
    if (typeof matcher === "string") return [keyOf(name), (value) => value === matcher];
    let regex: RegExp;
    try {
      regex = new RegExp(matcher.regex);
    } catch (error) {
      throw new RouteDefinitionError(order, field, name, `bad regex: ${(error as Error).message}`);
    }
    return [keyOf(name), (value) => value !== undefined && regex.test(value)];
  });
  return compiled.length > 0 ? compiled : undefined;
}

/** How many matchers a candidate has: among equals, the one with more is tried first. */
export const matcherCount = <R>(candidate: Candidate<R>): number =>
  (candidate.methods ? 1 : 0) +
  (candidate.headers?.length ?? 0) +
  (candidate.query?.length ?? 0) +
  (candidate.versions ? 1 : 0);
