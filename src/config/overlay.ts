/**
 * @module config/overlay
 * Environments: a base config file plus an overlay for one environment
 * (`gatehouse.yaml` + `gatehouse.production.yaml`), merged on the YAML trees rather than
 * on plain data, so that every node keeps the file it was written in and a problem in the
 * merged config can still be reported at FILE:LINE:COL in that file.
 */
import { basename, dirname, extname, join } from "node:path";
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  visit,
  type YAMLMap,
} from "yaml";

/** What an environment name may be: it becomes part of a file name. */
const environmentName = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Why an environment name cannot be used, or undefined when it can. */
export function checkEnvironmentName(name: string): string | undefined {
  return environmentName.test(name)
    ? undefined
    : `environment name "${name}" must be letters, digits, "-" and "_" (it names a file)`;
}

/** The overlay for `environment` next to `file`: `gatehouse.yaml` → `gatehouse.production.yaml`. */
export function overlayPath(file: string, environment: string): string {
  const extension = extname(file);
  const stem = basename(file, extension);
  return join(dirname(file), `${stem}.${environment}${extension}`);
}

/** The environment asked for: `--env` wins over `GATEHOUSE_ENV`; empty means none. */
export function selectedEnvironment(
  flag: string | undefined,
  env: Record<string, string | undefined>,
): string | undefined {
  const name = flag ?? env.GATEHOUSE_ENV;
  return name === undefined || name === "" ? undefined : name;
}

/** Which source (by index) each node of a merged tree was written in. */
export type NodeOrigins = WeakMap<object, number>;

/** Records every node of `document` as written in source `index`. */
export function recordOrigin(document: Document, index: number, origins: NodeOrigins): void {
  visit(document, (_key, node) => {
    if (node !== null && typeof node === "object") origins.set(node, index);
  });
}

/** Nodes copied for aliases per file; more is an alias bomb ("billion laughs"), not a config. */
const maxAliasNodes = 100_000;

/** Why a file's aliases could not be expanded, at the alias. */
export interface AliasProblem {
  offset: number;
  message: string;
}

/**
 * Replaces every alias (`*name`) in `document` with a copy of its anchored node, in place.
 * A merge may fold the anchored node into the other file's tree (its anchor then gone), so
 * aliases are resolved while each file is still whole. Anchors are expanded in document
 * order, so a copy never holds an alias; copies keep their source ranges.
 */
export function expandAliases(document: Document): AliasProblem | undefined {
  let copied = 0;
  let problem: AliasProblem | undefined;
  visit(document, {
    Alias(_key, alias) {
      const offset = alias.range?.[0] ?? 0;
      const target = alias.resolve(document);
      if (!target) {
        problem = {
          offset,
          message: `YAML alias *${alias.source} has no anchor &${alias.source} before it`,
        };
        return visit.BREAK;
      }
      copied += sizeOf(target, maxAliasNodes - copied);
      if (copied > maxAliasNodes) {
        problem = { offset, message: `YAML aliases expand to more than ${maxAliasNodes} values` };
        return visit.BREAK;
      }
      return target.clone() as Node;
    },
  });
  return problem;
}

/** How many nodes `node` holds, counting no further than just past `limit`. */
function sizeOf(node: unknown, limit: number): number {
  let count = 0;
  const walk = (item: unknown) => {
    if (count > limit) return;
    count++;
    if (isMap(item)) for (const pair of item.items) walk(pair.value);
    else if (isSeq(item)) for (const child of item.items) walk(child);
  };
  walk(node);
  return count;
}

/**
 * What the overlay merge reads and changes in one kind of tree: YAML nodes with positions
 * (`yamlNodes`, config/load) or plain data (config/fast-load, which must give the same config).
 */
export interface MergeableTree<Map> {
  /** `node` as a map, or undefined when it is not one. */
  asMap(node: unknown): Map | undefined;
  /** Calls `visit` with each entry of `map` in order: its key (undefined if not a scalar), value, entry. */
  forEachEntry(map: Map, visit: (key: unknown, value: unknown, entry: unknown) => void): void;
  /** Replaces the value at `key` with `change(value)`; false when `map` has no `key`. */
  update(map: Map, key: unknown, change: (value: unknown) => unknown): boolean;
  /** Adds an overlay's entry (`key`, `value`; `entry` as forEachEntry gave it) to `map`. */
  add(map: Map, key: unknown, value: unknown, entry: unknown): void;
  /** `node`'s items, changed in place by the merge; undefined when it is not a list. */
  asList(node: unknown): unknown[] | undefined;
  /** The `name` of a list item that is a map with a string name; undefined otherwise. */
  itemName(item: unknown): string | undefined;
}

/**
 * Merges `overlay` into `base` and returns the merged tree (reusing `base`'s nodes where
 * both have one). The rules:
 * - two maps merge key by key, recursively; a key only in the overlay is added;
 * - two lists whose items are all maps with a `name` (services, routes, consumers, plugin
 *   lists) merge item by item by name, recursively; an item only in the overlay is
 *   appended;
 * - anything else (a scalar, a list of targets or methods, a map against a scalar) is
 *   replaced by the overlay's value.
 */
export function mergeOverlay<Map>(
  base: unknown,
  overlay: unknown,
  tree: MergeableTree<Map>,
): unknown {
  const baseMap = tree.asMap(base);
  const overlayMap = baseMap && tree.asMap(overlay);
  if (baseMap && overlayMap) {
    tree.forEachEntry(overlayMap, (key, value, entry) => {
      const merged =
        key !== undefined &&
        tree.update(baseMap, key, (current) => mergeOverlay(current, value, tree));
      if (!merged) tree.add(baseMap, key, value, entry);
    });
    return base;
  }
  const baseItems = tree.asList(base);
  const overlayItems = baseItems && tree.asList(overlay);
  if (baseItems && overlayItems) {
    const baseNames = baseItems.map(tree.itemName);
    const overlayNames = overlayItems.map(tree.itemName);
    if (baseNames.every(isString) && overlayNames.every(isString)) {
      overlayItems.forEach((item, i) => {
        const at = baseNames.indexOf(overlayNames[i]!);
        if (at >= 0) baseItems[at] = mergeOverlay(baseItems[at], item, tree);
        else baseItems.push(item);
      });
      return base;
    }
  }
  return overlay;
}

const isString = (value: unknown): value is string => typeof value === "string";

/** The overlay merge on YAML nodes: every node keeps the file it was written in. */
export const yamlNodes: MergeableTree<YAMLMap> = {
  asMap: (node) => (isMap(node) ? node : undefined),
  forEachEntry(map, visit) {
    for (const pair of map.items) visit(scalarKey(pair.key), pair.value, pair);
  },
  update(map, key, change) {
    const pair = map.items.find((item) => scalarKey(item.key) === key);
    if (!pair) return false;
    pair.value = change(pair.value);
    return true;
  },
  add: (map, _key, _value, pair) => void map.items.push(pair as Pair),
  asList: (node) => (isSeq(node) ? node.items : undefined),
  itemName,
};

function scalarKey(key: unknown): unknown {
  return isScalar(key) ? key.value : undefined;
}

/** The `name` of a list item that is a map with a string name; undefined otherwise. */
function itemName(item: unknown): string | undefined {
  if (!isMap(item)) return undefined;
  const pair = item.items.find((p) => isPair(p) && scalarKey(p.key) === "name");
  const value = pair && isScalar(pair.value) ? pair.value.value : undefined;
  return typeof value === "string" ? value : undefined;
}

/** The source a node was written in; the base (0) when it is not known. */
export function originOf(node: Node | null | undefined, origins: NodeOrigins): number {
  return (node && origins.get(node)) ?? 0;
}
