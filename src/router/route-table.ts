/**
 * @module router/route-table
 * The compiled route table: host → radix tree (find-my-way) by path → ordered candidates
 * checked for method, headers, query and API version (compiled in route-definition). Each
 * host (exact or wildcard) has a tree of its own routes only, beside one tree for routes
 * with no hosts, so many hosts cost linear space. Built once per config; matching
 * allocates nothing on the common path.
 */
import FindMyWay from "find-my-way";
import { combinedHeaderValue } from "../proxy/headers.ts";
import {
  compareSpecificity,
  OverlapIndex,
  type PathPattern,
  treeMatchRegex,
} from "./path-pattern.ts";
import {
  type Candidate,
  matcherCount,
  type PreparedRoute,
  prepare,
  type RouteDefinition,
  type RouteMatch,
} from "./route-definition.ts";
import { keyShape } from "./table-keys.ts";

export {
  type RouteDefinition,
  RouteDefinitionError,
  type RouteHit,
  type RouteMatch,
} from "./route-definition.ts";

/** The routes of one host (or of any host): a tree of candidate lists, best first. */
interface HostTable {
  tree: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>;
  /**
   * Keys with no parameter or wildcard, by the path they match, kept out of the tree: an
   * exact static key is what find-my-way would find first anyway (static beats parameter
   * beats wildcard), and inserting one costs a radix insert plus generated code per key —
   * most of building a table of 10,000 routes.
   */
  statics: Map<string, TreeNode<unknown>>;
  /**
   * Keys with a parameter or wildcard that are alone under their literal first segment, by
   * that segment, kept out of the tree too: find-my-way tries a literal first segment
   * before the parameter and wildcard keys beside it, so for a path under that segment the
   * lone key is what it would find when its regex (see treeMatchRegex) matches, and the
   * tree (which then holds no key under that segment) otherwise. A config of one route per
   * service prefix then costs no tree inserts, which are most of building it.
   */
  lone: Map<string, LoneKey>;
  /** The highest route priority in the table, so a lookup that cannot win is skipped. */
  maxPriority: number;
}

const notFound = { kind: "not-found" } as const;
const emptyQuery = {};

/**
 * find-my-way percent-decodes a path before matching it, and finds nothing at all when the
 * escapes are not UTF-8 (`/files/%FF`). Paths and tree keys are both in normalised,
 * percent-encoded form, so the tree is given them with `%` swapped for a character a
 * normalised path never holds: it compares them as they are, decoding nothing.
 */
const treePercent = "\u0001";
const treeForm = (path: string): string =>
  path.includes("%") ? path.replaceAll("%", treePercent) : path;

/**
 * A compiled, immutable route table. Precedence: higher `priority` first; then the routes
 * for the request's exact host, then those for its wildcard hosts (longest suffix first),
 * then those for any host; within one host, the most specific path, then the route with
 * more matchers, then the first defined. A route whose method, header or query matchers
 * fail gives way to the next one.
 */
export class RouteTable<R> {
  readonly #exact = new Map<string, HostTable>();
  /** Keyed by suffix with its dot: `*.example.com` → `.example.com`. */
  readonly #wildcard = new Map<string, HostTable>();
  readonly #any: HostTable;

  /** Compiles definitions; throws RouteDefinitionError for the first bad one. */
  constructor(
    definitions: readonly RouteDefinition<R>[],
    options: { maxParamLength?: number } = {},
  ) {
    const routes = definitions.map((definition, index) => prepare(definition, index));
    const anyHost: PreparedRoute<R>[] = [];
    const byHost = new Map<string, PreparedRoute<R>[]>();
    for (const route of routes) {
      if (!route.hosts) anyHost.push(route);
      else
        for (const host of new Set(route.hosts)) {
          const list = byHost.get(host);
          if (list) list.push(route);
          else byHost.set(host, [route]);
        }
    }
    const maxParamLength = options.maxParamLength ?? 8192;
    this.#any = buildHostTable(anyHost, maxParamLength);
    for (const [host, hostRoutes] of byHost) {
      const table = buildHostTable(hostRoutes, maxParamLength);
      if (host.startsWith("*.")) this.#wildcard.set(host.slice(1), table);
      else this.#exact.set(host, table);
    }
  }

  /**
   * Finds the route for a request. `host` is lower-case without port; `path` is normalised;
   * `version` is the API version the request asks for (router/api-version), if any.
   */
  match(
    method: string,
    host: string,
    path: string,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    rawQuery: string,
    version?: string,
  ): RouteMatch<R> {
    const key = treeForm(path);
    let best: Candidate<R> | undefined;
    if (this.#exact.size > 0) {
      const table = this.#exact.get(host);
      if (table)
        best = firstMatch<R>(table, method, key, path, headers, rawQuery, version, undefined);
    }
    if (this.#wildcard.size > 0) {
      for (let dot = host.indexOf(".", 1); dot !== -1; dot = host.indexOf(".", dot + 1)) {
        const table = this.#wildcard.get(host.slice(dot));
        if (!table || (best && table.maxPriority <= best.priority)) continue;
        const found = firstMatch<R>(
          table,
          method,
          key,
          path,
          headers,
          rawQuery,
          version,
          undefined,
        );
        if (found && (!best || found.priority > best.priority)) best = found;
      }
    }
    if (!best || this.#any.maxPriority > best.priority) {
      const found = firstMatch<R>(
        this.#any,
        method,
        key,
        path,
        headers,
        rawQuery,
        version,
        undefined,
      );
      if (found && (!best || found.priority > best.priority)) best = found;
    }
    if (best) return best.hit;

    // Nothing matched: look again, collecting the methods routes for this path would take
    // and the versions of routes that refused only the version.
    const allow = new Set<string>();
    const versions = new Set<string>();
    const seen = { allow, versions };
    for (const table of this.#tablesFor(host))
      firstMatch<R>(table, method, key, path, headers, rawQuery, version, seen);
    if (allow.size > 0) return { kind: "method-not-allowed", allow: [...allow].join(", ") };
    if (versions.size > 0) return { kind: "version-not-found", versions: [...versions].sort() };
    return notFound;
  }

  /** Whether some route names this host (exactly or by wildcard). */
  servesHost(host: string): boolean {
    return this.#tablesFor(host).length > 1;
  }

  /** Every table that may serve a host, the any-host table last. */
  #tablesFor(host: string): HostTable[] {
    const tables: HostTable[] = [];
    const exact = this.#exact.get(host);
    if (exact) tables.push(exact);
    if (this.#wildcard.size > 0) {
      for (let dot = host.indexOf(".", 1); dot !== -1; dot = host.indexOf(".", dot + 1)) {
        const table = this.#wildcard.get(host.slice(dot));
        if (table) tables.push(table);
      }
    }
    tables.push(this.#any);
    return tables;
  }
}

/** What a second look at a table that found nothing collects (see firstMatch). */
interface Refusals {
  /** Methods of candidates that failed only on the method. */
  allow: Set<string>;
  /** Versions of candidates that failed only on the version. */
  versions: Set<string>;
}

/**
 * The first candidate in a table that takes the request. With `seen`, what candidates that
 * failed only on their method or only on their version would have taken is added to it.
 */
function firstMatch<R>(
  table: HostTable,
  method: string,
  key: string,
  path: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  rawQuery: string,
  version: string | undefined,
  seen: Refusals | undefined,
): Candidate<R> | undefined {
  let node = table.statics.get(path) as TreeNode<R> | undefined;
  let ownProven = true;
  if (node === undefined && table.lone.size > 0) {
    const slash = path.indexOf("/", 1);
    const lone = slash === -1 ? undefined : table.lone.get(path.slice(1, slash));
    if (lone?.regex.test(path)) {
      node = lone.node as TreeNode<R>;
      // An empty parameter passes the tree's regex, not the pattern's (see below).
      ownProven = lone.pattern.regex.test(path);
    }
  }
  if (node === undefined) {
    const found = table.tree.find("GET", key);
    if (found === null) return undefined;
    node = found.store as TreeNode<R>;
    // find-my-way lets a parameter match an empty segment (`/users/` for `/users/:id`); then
    // even the node's own patterns are checked by regex, which refuses it.
    const params = node.params;
    for (let i = 0; i < params.length; i++) if (found.params[params[i]!] === "") ownProven = false;
  }
  let query: URLSearchParams | undefined;
  for (const candidate of node.candidates) {
    if (!(candidate.own && ownProven) && !candidate.hit.pattern.regex.test(path)) continue;
    if (
      candidate.headers &&
      !candidate.headers.every(([name, test]) => test(combinedHeaderValue(headers[name])))
    )
      continue;
    if (candidate.query) {
      query ??= new URLSearchParams(rawQuery);
      const params = query;
      if (!candidate.query.every(([name, test]) => test(params.get(name) ?? undefined))) continue;
    }
    if (candidate.versions && (version === undefined || !candidate.versions.has(version))) {
      if (seen && (!candidate.methods || candidate.methods.has(method)))
        for (const served of candidate.versions) seen.versions.add(served);
      continue;
    }
    if (candidate.methods && !candidate.methods.has(method)) {
      if (seen) for (const allowed of candidate.methods) seen.allow.add(allowed);
      continue;
    }
    return candidate;
  }
  return undefined;
}

function buildHostTable<R>(routes: readonly PreparedRoute<R>[], maxParamLength: number): HostTable {
  // Every (route, pattern) this host serves, grouped by the tree key they share.
  const groups = new Map<string, Group<R>>();
  const index = new OverlapIndex<Group<R>>();
  let maxPriority = Number.NEGATIVE_INFINITY;
  for (const route of routes) {
    maxPriority = Math.max(maxPriority, route.priority);
    for (const pattern of route.patterns) {
      const entry: Candidate<R> = {
        hit: { kind: "route", value: route.value, pattern },
        own: true,
        methods: route.methods,
        headers: route.headers,
        query: route.query,
        versions: route.versions,
        priority: route.priority,
        order: route.order,
      };
      const group = groups.get(pattern.treeKey);
      if (group) {
        group.entries.push(entry);
        group.ownPriority = Math.min(group.ownPriority, entry.priority);
      } else {
        const created = { pattern, entries: [entry], ownPriority: entry.priority };
        groups.set(pattern.treeKey, created);
        index.add(pattern, created);
      }
    }
  }

  // How many parametric keys each literal first segment has (see HostTable.lone).
  const underFirst = new Map<string, number>();
  for (const group of groups.values()) {
    const first = keyShape(group.pattern).loneSegment;
    if (first !== undefined) underFirst.set(first, (underFirst.get(first) ?? 0) + 1);
  }
  const statics = new Map<string, TreeNode<unknown>>();
  const lone = new Map<string, LoneKey>();
  const tree = FindMyWay({
    caseSensitive: true,
    ignoreTrailingSlash: false,
    ignoreDuplicateSlashes: false,
    maxParamLength,
    querystringParser: () => emptyQuery,
  });
  let current: Group<R>;
  let candidates: Candidate<R>[];
  // One function for every group (not a closure each): 10,000 groups are 10,000 fewer.
  const addOverlapping = (other: Group<R>) => {
    if (other === current) return;
    const lessSpecific = compareSpecificity(other.pattern, current.pattern) <= 0;
    for (const entry of other.entries) {
      // A less specific route is a fallback when this one's matchers fail; a more specific
      // route only belongs here when its explicit priority could beat this group's.
      if (lessSpecific || entry.priority > current.ownPriority) {
        // Copied before the first addition: other groups read this group's own entries.
        if (candidates === current.entries) candidates = [...candidates];
        candidates.push({ ...entry, own: false });
      }
    }
  };
  for (const group of groups.values()) {
    current = group;
    candidates = group.entries;
    index.forEachOverlapping(group.pattern, addOverlapping);
    if (candidates.length > 1) {
      if (candidates === group.entries) candidates = [...candidates];
      candidates.sort(
        (a, b) =>
          b.priority - a.priority ||
          compareSpecificity(b.hit.pattern, a.hit.pattern) ||
          matcherCount(b) - matcherCount(a) ||
          a.order - b.order,
      );
    }
    const { literal, loneSegment: first, params } = keyShape(group.pattern);
    const node: TreeNode<R> = { candidates, params };
    if (literal !== undefined) statics.set(literal, node as TreeNode<unknown>);
    else if (first !== undefined && underFirst.get(first) === 1)
      lone.set(first, {
        node: node as TreeNode<unknown>,
        pattern: group.pattern,
        regex: treeMatchRegex(group.pattern, maxParamLength),
      });
    else tree.on("GET", treeForm(group.pattern.treeKey), noop, node);
  }
  return { tree, statics, lone, maxPriority };
}

/** What the tree stores at one key. */
interface TreeNode<R> {
  /** Best first. */
  candidates: Candidate<R>[];
  /** find-my-way's names for the key's parameters (`p0`, `p1`, ...). */
  params: string[];
}

/** A key alone under its literal first segment (see HostTable.lone). */
interface LoneKey {
  node: TreeNode<unknown>;
  pattern: PathPattern;
  /** What the tree's lookup of this key alone would match. */
  regex: RegExp;
}

interface Group<R> {
  pattern: PathPattern;
  /** The group's own routes; the table's candidates for its key once overlaps are added. */
  entries: Candidate<R>[];
  /** The lowest priority among its own routes. */
  ownPriority: number;
}

const noop = () => {};
