/**
 * @module router/route-table
 * The compiled route table: host → radix tree (find-my-way) by path → ordered candidates
 * checked for method, headers and query. Built once per config; matching allocates
 * nothing on the common path.
 */
import FindMyWay from "find-my-way";
import type { StringMatcherConfig } from "../config/schema.ts";
import {
  compareSpecificity,
  firstStaticSegment,
  mayOverlap,
  type PathPattern,
  parsePathPattern,
} from "./path-pattern.ts";

/** What the table needs to know about one route. */
export interface RouteDefinition<R> {
  value: R;
  hosts?: readonly string[];
  paths: readonly string[];
  methods?: readonly string[];
  headers?: Readonly<Record<string, StringMatcherConfig>>;
  query?: Readonly<Record<string, StringMatcherConfig>>;
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
  | { kind: "method-not-allowed"; allow: string };

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

type ValueTest = (value: string | undefined) => boolean;

interface Candidate<R> {
  hit: RouteHit<R>;
  /** True when find-my-way matched this candidate's own pattern, so no regex check is needed. */
  own: boolean;
  methods: ReadonlySet<string> | undefined;
  headers: [string, ValueTest][] | undefined;
  query: [string, ValueTest][] | undefined;
  priority: number;
  hostRank: number;
  order: number;
}

interface HostTable {
  tree: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>;
}

const notFound = { kind: "not-found" } as const;

/**
 * find-my-way percent-decodes a path before matching it, and finds nothing at all when the
 * escapes are not UTF-8 (`/files/%FF`). Paths and tree keys are both in normalised,
 * percent-encoded form, so the tree is given them with `%` swapped for a character a
 * normalised path never holds: it compares them as they are, decoding nothing.
 */
const treePercent = "\u0001";
const treeForm = (path: string): string =>
  path.includes("%") ? path.replaceAll("%", treePercent) : path;
const emptyQuery = {};

/** A compiled, immutable route table. */
export class RouteTable<R> {
  readonly #exact = new Map<string, HostTable>();
  readonly #wildcard = new Map<string, HostTable>();
  readonly #any: HostTable;

  /** Compiles definitions; throws RouteDefinitionError for the first bad one. */
  constructor(
    definitions: readonly RouteDefinition<R>[],
    options: { maxParamLength?: number } = {},
  ) {
    const routes = definitions.map((definition, index) => prepare(definition, index));
    const exactHosts = new Set<string>();
    const wildcardHosts = new Set<string>();
    for (const route of routes) {
      for (const host of route.hosts ?? [])
        (host.startsWith("*.") ? wildcardHosts : exactHosts).add(host);
    }
    const build = (accepts: (route: PreparedRoute<R>) => number) =>
      buildHostTable(routes, accepts, options.maxParamLength ?? 8192);
    this.#any = build((route) => (route.hosts ? -1 : 0));
    for (const suffixHost of wildcardHosts) {
      this.#wildcard.set(
        suffixHost.slice(1),
        build((route) => hostRank(route, suffixHost)),
      );
    }
    for (const host of exactHosts)
      this.#exact.set(
        host,
        build((route) => hostRank(route, host)),
      );
  }

  /** Finds the route for a request. `host` is lower-case without port; `path` is normalised. */
  match(
    method: string,
    host: string,
    path: string,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    rawQuery: string,
  ): RouteMatch<R> {
    const table = this.#tableFor(host);
    const found = table.tree.find("GET", treeForm(path));
    if (found === null) return notFound;
    const candidates = found.store as Candidate<R>[];
    let allow: Set<string> | undefined;
    let query: URLSearchParams | undefined;
    for (const candidate of candidates) {
      if (!candidate.own && !candidate.hit.pattern.regex.test(path)) continue;
      if (
        candidate.headers &&
        !candidate.headers.every(([name, test]) => test(headerValue(headers[name])))
      )
        continue;
      if (candidate.query) {
        query ??= new URLSearchParams(rawQuery);
        const params = query;
        if (!candidate.query.every(([name, test]) => test(params.get(name) ?? undefined))) continue;
      }
      if (candidate.methods && !candidate.methods.has(method)) {
        allow ??= new Set();
        for (const allowed of candidate.methods) allow.add(allowed);
        continue;
      }
      return candidate.hit;
    }
    if (allow) return { kind: "method-not-allowed", allow: [...allow].join(", ") };
    return notFound;
  }

  /** Whether some route names this host (exactly or by wildcard). */
  servesHost(host: string): boolean {
    return this.#tableFor(host) !== this.#any;
  }

  #tableFor(host: string): HostTable {
    if (this.#exact.size > 0) {
      const exact = this.#exact.get(host);
      if (exact) return exact;
    }
    if (this.#wildcard.size > 0) {
      for (let dot = host.indexOf("."); dot !== -1; dot = host.indexOf(".", dot + 1)) {
        const table = this.#wildcard.get(host.slice(dot));
        if (table) return table;
      }
    }
    return this.#any;
  }
}

interface PreparedRoute<R> extends Omit<Candidate<R>, "hit" | "own" | "hostRank"> {
  value: R;
  patterns: PathPattern[];
  hosts: string[] | undefined;
}

function prepare<R>(definition: RouteDefinition<R>, order: number): PreparedRoute<R> {
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

/** 2 for an exact host match, 1 for a wildcard, 0 for a route with no hosts, -1 for no match. */
function hostRank<R>(route: PreparedRoute<R>, host: string): number {
  if (!route.hosts) return 0;
  if (route.hosts.includes(host)) return 2;
  for (const pattern of route.hosts) {
    if (
      pattern.startsWith("*.") &&
      host.endsWith(pattern.slice(1)) &&
      host.length > pattern.length - 1
    )
      return 1;
  }
  return -1;
}

function buildHostTable<R>(
  routes: readonly PreparedRoute<R>[],
  accepts: (route: PreparedRoute<R>) => number,
  maxParamLength: number,
): HostTable {
  // Every (route, pattern) this host serves, grouped by the tree key they share.
  const groups = new Map<string, { pattern: PathPattern; entries: Candidate<R>[] }>();
  for (const route of routes) {
    const rank = accepts(route);
    if (rank < 0) continue;
    for (const pattern of route.patterns) {
      const entry: Candidate<R> = {
        hit: { kind: "route", value: route.value, pattern },
        own: true,
        methods: route.methods,
        headers: route.headers,
        query: route.query,
        priority: route.priority,
        hostRank: rank,
        order: route.order,
      };
      const group = groups.get(pattern.treeKey);
      if (group) group.entries.push(entry);
      else groups.set(pattern.treeKey, { pattern, entries: [entry] });
    }
  }

  // Bucket by first literal segment so finding overlapping patterns stays near-linear.
  const byFirst = new Map<
    string | undefined,
    (typeof groups extends Map<string, infer G> ? G : never)[]
  >();
  for (const group of groups.values()) {
    const key = firstStaticSegment(group.pattern);
    const bucket = byFirst.get(key);
    if (bucket) bucket.push(group);
    else byFirst.set(key, [group]);
  }
  const loose = byFirst.get(undefined) ?? [];

  const tree = FindMyWay({
    caseSensitive: true,
    ignoreTrailingSlash: false,
    ignoreDuplicateSlashes: false,
    maxParamLength,
    querystringParser: () => emptyQuery,
  });
  for (const group of groups.values()) {
    const first = firstStaticSegment(group.pattern);
    const others =
      first === undefined ? [...groups.values()] : [...(byFirst.get(first) ?? []), ...loose];
    const candidates = [...group.entries];
    const ownPriority = Math.min(...group.entries.map((entry) => entry.priority));
    for (const other of others) {
      if (other === group || !mayOverlap(group.pattern, other.pattern)) continue;
      const lessSpecific = compareSpecificity(other.pattern, group.pattern) <= 0;
      for (const entry of other.entries) {
        // A less specific route is a fallback when this one's matchers fail; a more specific
        // route only belongs here when its explicit priority could beat this group's.
        if (lessSpecific || entry.priority > ownPriority) candidates.push({ ...entry, own: false });
      }
    }
    candidates.sort(
      (a, b) =>
        b.priority - a.priority ||
        compareSpecificity(a.hit.pattern, b.hit.pattern) * -1 ||
        b.hostRank - a.hostRank ||
        matcherCount(b) - matcherCount(a) ||
        a.order - b.order,
    );
    tree.on("GET", treeForm(group.pattern.treeKey), noop, candidates);
  }
  return { tree };
}

const matcherCount = <R>(candidate: Candidate<R>): number =>
  (candidate.methods ? 1 : 0) + (candidate.headers?.length ?? 0) + (candidate.query?.length ?? 0);

const noop = () => {};

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}
