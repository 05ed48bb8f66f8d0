/**
 * @module config/fast-load
 * The quick way through a config load, for large configs reloaded often: each file read
 * straight to plain data (JSON.parse for JSON, js-yaml for YAML), references substituted
 * and overlays merged on that data, then validated. The YAML tree with positions that
 * config/load builds costs several times more, and is only needed to locate problems; so
 * at anything wrong or unusual this path gives up (returns undefined) and the caller takes
 * the positioned path, which gives the same config or reports FILE:LINE:COL.
 */
import { dirname } from "node:path";
import type { ConfigDocument } from "./document.ts";
import { readData } from "./fast-yaml.ts";
import type { CheckContext, ConfigSource, ParseOptions } from "./load.ts";
import { type MergeableTree, mergeOverlay } from "./overlay.ts";
import { checkMethods } from "./schema/http-methods.ts";
import { configSchema, type GatehouseConfig } from "./schema/index.ts";
import { SecretValues } from "./secret-values.ts";
import { checkReferences } from "./semantics.ts";
import { createSubstituter } from "./substitute.ts";

/** What a fast load gives: the same three things the positioned path gives. */
export interface FastLoad {
  config: GatehouseConfig;
  /** The config as written (see config/document). */
  document: ConfigDocument;
  /** The values and files its references brought in. */
  secrets: SecretValues;
  /** The files its checks said it depends on besides its own text. */
  dependsOn: string[];
}

/** Copies made for aliases, as config/overlay counts them; past this the positioned path decides. */
const maxAliasNodes = 100_000;

/** Loads `sources` without positions, or returns undefined for the positioned path to do it. */
export function fastLoad(
  sources: readonly ConfigSource[],
  options: ParseOptions,
): FastLoad | undefined {
  const env = options.env ?? process.env;
  const secrets = new SecretValues();
  const written: unknown[] = [];
  const resolved: unknown[] = [];
  for (const { file, text } of sources) {
    const read = readData(text);
    if (!read) return undefined;
    // Whether a key was not a string, which config/overlay would not merge with a string key.
    if (sources.length > 1 && read.nonStringKey) return undefined;
    const substitute = createSubstituter({
      env,
      baseDir: options.baseDir ?? dirname(file),
      secrets,
    });
    const copies = writtenAndResolved(read.data, text, substitute, sources.length > 1);
    if (!copies) return undefined;
    written.push(copies.written);
    resolved.push(copies.resolved);
  }
  const input: unknown = mergeAll(resolved) ?? {};
  const result = configSchema.safeParse(input);
  if (!result.success || checkReferences(input).length > 0 || checkMethods(input).length > 0)
    return undefined;
  for (const check of options.inputChecks ?? []) if (check(input).length > 0) return undefined;
  const dependsOn: string[] = [];
  const context: CheckContext = {
    baseDir: options.baseDir ?? dirname(sources[0]!.file),
    dependsOn: (file) => dependsOn.push(file),
  };
  for (const check of options.checks ?? [])
    if (check(result.data, context).length > 0) return undefined;
  const document = (mergeAll(written) ?? {}) as ConfigDocument;
  return { config: result.data, document, secrets, dependsOn };
}

/**
 * Two separate trees of one file's data: as written, and with references substituted. An
 * alias is copied apart wherever it is used, as config/overlay expands it. Undefined when a
 * reference fails, a key holds one, an overlaid `name` holds one (merging by name must see
 * the same names both ways) or the aliases expand too far.
 */
function writtenAndResolved(
  data: unknown,
  text: string,
  substitute: Substitute,
  overlaid: boolean,
): { written: unknown; resolved: unknown } | undefined {
  // Without an anchor there is no alias, and the data is a tree of its own already.
  const tree = text.includes("&") ? copyApart(data, countStars(text)) : data;
  if (tree === tooManyAliases) return undefined;
  const written = copy(tree);
  const substituted = substituteAll(tree, substitute, overlaid);
  return substituted ? { written, resolved: substituted.value } : undefined;
}

/** An upper bound on the aliases of scalars in `text`: each alias starts with `*`. */
function countStars(text: string): number {
  let count = 0;
  for (let at = text.indexOf("*"); at >= 0; at = text.indexOf("*", at + 1)) count++;
  return count;
}

type Substitute = (text: string) => { value: unknown } | undefined;

const tooManyAliases = Symbol("too many aliases");

/** `copy`, counting the values copied for second and later uses as config/overlay does. */
function copyApart(data: unknown, scalarAliases: number): unknown {
  const seen = new Set<object>();
  let copied = scalarAliases;
  const expand = (value: unknown, inAlias: boolean): unknown => {
    if (value === null || typeof value !== "object") {
      if (inAlias) copied++;
      return value;
    }
    const alias = inAlias || seen.has(value);
    seen.add(value);
    if (alias && ++copied > maxAliasNodes) throw tooManyAliases;
    if (Array.isArray(value)) return value.map((item) => expand(item, alias));
    const result: Record<string, unknown> = {};
    for (const key of Object.keys(value))
      setOwn(result, key, expand((value as Record<string, unknown>)[key], alias));
    return result;
  };
  try {
    return expand(data, false);
  } catch (error) {
    if (error === tooManyAliases) return tooManyAliases;
    throw error;
  }
}

/** A deep copy of plain data. */
function copy(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(copy);
  const result: Record<string, unknown> = {};
  for (const key of Object.keys(value))
    setOwn(result, key, copy((value as Record<string, unknown>)[key]));
  return result;
}

/** Substitutes every string in `tree` in place (see writtenAndResolved for undefined). */
function substituteAll(
  tree: unknown,
  substitute: Substitute,
  overlaid: boolean,
): { value: unknown } | undefined {
  let ok = true;
  const visit = (value: unknown, key: string | undefined): unknown => {
    if (typeof value === "string") {
      if (!value.includes("${")) return value;
      const result = substitute(value);
      if (!result || (overlaid && key === "name")) ok = false;
      return result?.value;
    }
    if (value === null || typeof value !== "object") return value;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = visit(value[i], undefined);
      return value;
    }
    const map = value as Record<string, unknown>;
    for (const name of Object.keys(map)) {
      if (name.includes("${")) ok = false;
      map[name] = visit(map[name], name);
    }
    return map;
  };
  const value = visit(tree, undefined);
  return ok ? { value } : undefined;
}

/**
 * The files' data merged in order, by config/overlay's rules. An empty file changes nothing
 * (js-yaml refuses one, so it never gets here); a file that is `~` or a bare `---` is a null
 * that replaces everything, as it does there.
 */
function mergeAll(data: unknown[]): unknown {
  let merged = data[0];
  for (const overlay of data.slice(1)) merged = mergeOverlay(merged, overlay, plainData);
  return merged;
}

/** The overlay merge on plain data, by the same rules as on YAML nodes. */
const plainData: MergeableTree<Record<string, unknown>> = {
  asMap: (value) => (isMap(value) ? value : undefined),
  forEachEntry(map, visit) {
    for (const key of Object.keys(map)) visit(key, map[key], undefined);
  },
  update(map, key, change) {
    if (!Object.hasOwn(map, key as string)) return false;
    map[key as string] = change(map[key as string]);
    return true;
  },
  add: (map, key, value) => setOwn(map, key as string, value),
  asList: (value) => (Array.isArray(value) ? value : undefined),
  itemName: (item) => (isMap(item) && typeof item.name === "string" ? item.name : undefined),
};

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Sets a key as an own property, `__proto__` included, as the YAML loader does. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__")
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      configurable: true,
      writable: true,
    });
  else target[key] = value;
}
