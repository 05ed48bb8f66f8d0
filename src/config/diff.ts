/**
 * @module config/diff
 * A structural diff of two config documents, resource by resource: which services, routes,
 * consumers and global plugins were created, updated or deleted, and which fields of each
 * changed. Read by `gatehouse config diff`, the admin API's version diff and the audit trail.
 *
 * Documents are compared as written, redacted (see config/redact-config): by the caller,
 * or through the `redact` option, which also notices a secret changed under `[redacted]`.
 * The diff neither resolves references nor adds anything to what it is shown, so it can
 * only print what the caller was allowed to see.
 */
import type { ConfigDocument } from "./document.ts";

export type { ConfigDocument };

export type ResourceKind = "service" | "route" | "consumer" | "plugin";

/**
 * One changed value, at a path such as `targets[0].url` or `plugins[rate-limit].config.limit`
 * (a list of named items is indexed by name). `before` absent: added; `after` absent: removed.
 */
export interface FieldChange {
  path: string;
  before?: unknown;
  after?: unknown;
}

/** A resource that changed; `fields` is empty for one created or deleted. */
export interface ResourceChange {
  kind: ResourceKind;
  name: string;
  change: "created" | "updated" | "deleted";
  fields: FieldChange[];
}

/** Every change between two documents; `gateway` holds the static section's (a restart applies them). */
export interface ConfigDiff {
  resources: ResourceChange[];
  gateway: FieldChange[];
}

/** The dynamic lists, in the order a diff reports them. */
const resourceLists: readonly [ResourceKind, "services" | "routes" | "consumers" | "plugins"][] = [
  ["service", "services"],
  ["route", "routes"],
  ["consumer", "consumers"],
  ["plugin", "plugins"],
];

/**
 * The path of a route's move in the list. Routes alike in priority, path specificity and
 * matchers are tried in the order written (router/route-table), so moving one can change
 * which route serves a request; order in the other lists means nothing.
 */
export const positionField = "(position)";

export interface DiffOptions {
  /**
   * Shows the documents through this (`redactConfig`): every value and name in the diff is
   * taken from its copies, while the documents themselves are compared too, so a secret
   * changed under `[redacted]` is still a change, shown as `"[redacted]" → "[redacted]"`.
   * Without it the documents are shown as given, so pass them redacted.
   */
  redact?: (document: ConfigDocument) => ConfigDocument;
}

/** What changed from `before` to `after`. */
export function diffConfigs(
  before: ConfigDocument,
  after: ConfigDocument,
  options: DiffOptions = {},
): ConfigDiff {
  const { redact } = options;
  const old = { shown: redact ? redact(before) : before, raw: before };
  const now = { shown: redact ? redact(after) : after, raw: after };
  const resources: ResourceChange[] = [];
  for (const [kind, key] of resourceLists) {
    const lists = (pair: Pair<ConfigDocument>) => ({
      shown: listOf(pair.shown[key]),
      raw: listOf(pair.raw[key]),
    });
    resources.push(...diffResources(kind, lists(old), lists(now)));
  }
  const gateway: FieldChange[] = [];
  const section = ({ shown, raw }: Pair<ConfigDocument>) => ({
    shown: shown.gateway ?? {},
    raw: raw.gateway ?? {},
  });
  diffValues(section(old), section(now), "", gateway);
  return { resources, gateway };
}

/**
 * A value as shown (redacted) and as written, at the same place: redaction keeps every key
 * and list position, so the one is found in the other by walking both alike.
 */
interface Pair<T = unknown> {
  shown: T;
  raw: T;
}

function diffResources(
  kind: ResourceKind,
  before: Pair<readonly unknown[]>,
  after: Pair<readonly unknown[]>,
): ResourceChange[] {
  const old = byName(before.shown);
  const now = byName(after.shown);
  const moves = kind === "route" ? movedItems(old, now) : new Map<string, FieldChange>();
  const changes: ResourceChange[] = [];
  for (const [name, { item, index }] of now) {
    const previous = old.get(name);
    if (!previous) {
      changes.push({ kind, name, change: "created", fields: [] });
      continue;
    }
    const fields: FieldChange[] = [];
    const move = moves.get(name);
    if (move) fields.push(move);
    const was = { shown: previous.item, raw: itemAt(before, previous.index).raw };
    const is = { shown: item, raw: itemAt(after, index).raw };
    // Most resources of a large config are unchanged: compared first without building the
    // paths of their fields (the audit diffs every reload; 10,000 routes are 100,000 fields).
    if (!unchanged(was, is)) diffValues(was, is, "", fields);
    if (fields.length > 0) changes.push({ kind, name, change: "updated", fields });
  }
  for (const name of old.keys())
    if (!now.has(name)) changes.push({ kind, name, change: "deleted", fields: [] });
  return changes;
}

/** Whether a resource is the same, as shown and as written. */
function unchanged(before: Pair, after: Pair): boolean {
  if (!sameValue(before.shown, after.shown)) return false;
  const unredacted = before.raw === before.shown && after.raw === after.shown;
  return unredacted || sameValue(before.raw, after.raw);
}

interface Placed {
  item: unknown;
  index: number;
}

/** Items keyed by their `name`; one without a name (or a repeated one) by its place: `[3]`. */
function byName(list: readonly unknown[]): Map<string, Placed> {
  const items = new Map<string, Placed>();
  list.forEach((item, index) => {
    const name = nameOf(item);
    const key = name !== undefined && !items.has(name) ? name : `[${index}]`;
    items.set(key, { item, index });
  });
  return items;
}

/**
 * The items whose order relative to the others changed, as `(position)` changes. The
 * items kept in place are the longest run already in the old order, so inserting or
 * deleting a route does not report every route after it as moved.
 */
function movedItems(
  before: ReadonlyMap<string, Placed>,
  after: ReadonlyMap<string, Placed>,
): Map<string, FieldChange> {
  const common = [...after].filter(([name]) => before.has(name));
  const oldIndexes = common.map(([name]) => before.get(name)!.index);
  const kept = longestIncreasing(oldIndexes);
  const moves = new Map<string, FieldChange>();
  common.forEach(([name, { index }], i) => {
    if (!kept.has(i)) moves.set(name, { path: positionField, before: oldIndexes[i], after: index });
  });
  return moves;
}

/** The positions in `values` of one longest strictly increasing subsequence (O(n log n)). */
function longestIncreasing(values: readonly number[]): Set<number> {
  const tails: number[] = []; // tails[k]: position of the smallest tail of a run of length k+1
  const previous: number[] = [];
  values.forEach((value, i) => {
    let low = 0;
    let high = tails.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (values[tails[mid]!]! < value) low = mid + 1;
      else high = mid;
    }
    previous[i] = low > 0 ? tails[low - 1]! : -1;
    tails[low] = i;
  });
  const kept = new Set<number>();
  for (let i = tails.at(-1) ?? -1; i !== -1; i = previous[i]!) kept.add(i);
  return kept;
}

/** Appends to `out` every difference between two values found under `path`. */
function diffValues(before: Pair, after: Pair, path: string, out: FieldChange[]): void {
  const [old, now] = [before.shown, after.shown];
  if (Array.isArray(old) && Array.isArray(now)) {
    if (allNamed(old) && allNamed(now)) diffNamedLists(before, after, path, out);
    else diffIndexedLists(before, after, path, out);
  } else if (isMap(old) && isMap(now)) {
    for (const key of Object.keys(now)) {
      const at = join(path, key);
      if (Object.hasOwn(old, key)) diffValues(entryAt(before, key), entryAt(after, key), at, out);
      else out.push({ path: at, after: now[key] });
    }
    for (const key of Object.keys(old))
      if (!Object.hasOwn(now, key)) out.push({ path: join(path, key), before: old[key] });
  } else if (!sameValue(old, now) || !sameValue(before.raw, after.raw)) {
    out.push({ path: path || "(value)", before: old, after: now });
  }
}

/** Named items (a route's plugins) are matched by name; their order is not compared. */
function diffNamedLists(before: Pair, after: Pair, path: string, out: FieldChange[]): void {
  const old = new Map<string, Pair>(
    (before.shown as unknown[]).map((item, i) => [nameOf(item)!, itemAt(before, i)]),
  );
  const names = new Set<string>();
  (after.shown as unknown[]).forEach((item, i) => {
    const name = nameOf(item)!;
    names.add(name);
    const at = `${path}[${name}]`;
    const previous = old.get(name);
    if (previous) diffValues(previous, itemAt(after, i), at, out);
    else out.push({ path: at, after: item });
  });
  for (const [name, item] of old)
    if (!names.has(name)) out.push({ path: `${path}[${name}]`, before: item.shown });
}

function diffIndexedLists(before: Pair, after: Pair, path: string, out: FieldChange[]): void {
  const old = before.shown as unknown[];
  const now = after.shown as unknown[];
  for (let i = 0; i < Math.max(old.length, now.length); i++) {
    const at = `${path}[${i}]`;
    if (i >= old.length) out.push({ path: at, after: now[i] });
    else if (i >= now.length) out.push({ path: at, before: old[i] });
    else diffValues(itemAt(before, i), itemAt(after, i), at, out);
  }
}

/** The pair one key down; where the raw side lacks it (never, for redactConfig) the shown value stands in. */
function entryAt(pair: Pair, key: string): Pair {
  const shown = (pair.shown as Record<string, unknown>)[key];
  return { shown, raw: isMap(pair.raw) && Object.hasOwn(pair.raw, key) ? pair.raw[key] : shown };
}

function itemAt(pair: Pair, index: number): Pair {
  const shown = (pair.shown as readonly unknown[])[index];
  return {
    shown,
    raw: Array.isArray(pair.raw) && index < pair.raw.length ? pair.raw[index] : shown,
  };
}

/** `a.b`; a key that would read as syntax is quoted: `headers["x.y"]`. */
function join(path: string, key: string): string {
  if (!/^[A-Za-z_$][\w$-]*$/.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path ? `${path}.${key}` : key;
}

/** A list of named items, each name once (an empty list counts: nothing to match). */
function allNamed(list: readonly unknown[]): boolean {
  const names = new Set(list.map(nameOf));
  return !names.has(undefined) && names.size === list.length;
}

function nameOf(item: unknown): string | undefined {
  return isMap(item) && typeof item.name === "string" ? item.name : undefined;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  if (isMap(a) && isMap(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => Object.hasOwn(b, key) && sameValue(a[key], b[key]));
  }
  return false;
}

function listOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

const signs = { created: "+", updated: "~", deleted: "-" } as const;

/**
 * The diff as text for a person: one block per resource (`+ service orders`,
 * `- consumer bob`, `~ route users-api` with a line per field), then the static
 * `gateway:` section; `(no changes)` when there are none.
 */
export function formatDiff(diff: ConfigDiff): string {
  const lines: string[] = [];
  for (const { kind, name, change, fields } of diff.resources) {
    lines.push(`${signs[change]} ${kind} ${name}`);
    for (const field of fields) lines.push(`    ${formatField(field)}`);
  }
  if (diff.gateway.length > 0) {
    lines.push("~ gateway (static: applied at the next restart)");
    for (const field of diff.gateway) lines.push(`    ${formatField(field)}`);
  }
  return lines.length > 0 ? lines.join("\n") : "(no changes)";
}

/** `path: before → after`, with `(none)` standing for the side a field is absent from. */
function formatField(field: FieldChange): string {
  const before = "before" in field ? show(field.before) : "(none)";
  const after = "after" in field ? show(field.after) : "(none)";
  return `${field.path}: ${before} → ${after}`;
}

/** A value as JSON on one line (YAML's .inf and .nan, which JSON lacks, as themselves). */
function show(value: unknown): string {
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value) ?? String(value);
}
