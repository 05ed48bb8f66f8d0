/**
 * @module config/fast-yaml
 * Config text straight to plain data, for config/fast-load: the data the `yaml` package's
 * `parseDocument(text).toJS()` gives, or undefined whenever that is not certain. JSON goes
 * through JSON.parse; YAML through js-yaml, with a schema that reads plain scalars by the
 * `yaml` package's YAML 1.2 core rules (so `on`, `yes` and `2001-12-14` stay strings, `<<`
 * is a plain key). Explicit tags, directives, duplicate keys and collection keys are left
 * to the positioned parser, which reports or reads them its own way.
 */
import { defineMappingTag, defineScalarTag, load, NOT_RESOLVED, Schema, seqTag } from "js-yaml";
import { nestsDeeperThan } from "./nesting.ts";
import { parseByItems } from "./yaml-items.ts";

/** One file's data, and whether a map key in it was not a string (`1:`, `true:`, `~:`). */
export interface ReadData {
  data: unknown;
  nonStringKey: boolean;
}

/** Reads `text` as config/load's parser would, or returns undefined when unsure. */
export function readData(text: string): ReadData | undefined {
  if (/^\s*\{/.test(text)) {
    const json = readJson(text);
    if (json) return json;
  }
  // `%YAML 1.1` would change how scalars read; the positioned parser honours it.
  if (/^%/m.test(text)) return undefined;
  // A config read again after an edit: its unchanged items are not parsed again.
  return parseByItems(text, readYaml) ?? readYaml(text);
}

/** `text` as YAML, or undefined when js-yaml refuses it. */
function readYaml(text: string): ReadData | undefined {
  nonStringKey = false;
  try {
    return { data: load(text, { schema }), nonStringKey };
  } catch {
    return undefined;
  }
}

/** JSON, when it has no duplicate keys (JSON.parse keeps the last; the YAML parser refuses). */
function readJson(text: string): ReadData | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  // Deeper than a config goes: the positioned path refuses it, located (countKeys recurses).
  if (nestsDeeperThan(data)) return undefined;
  // In valid JSON a string followed by `:` is a key, and the regex walks strings whole.
  let written = 0;
  for (const match of text.matchAll(/"(?:[^"\\]|\\.)*"(\s*:)?/g)) if (match[1]) written++;
  return written === countKeys(data) ? { data, nonStringKey: false } : undefined;
}

function countKeys(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  let count = 0;
  if (Array.isArray(value)) for (const item of value) count += countKeys(item);
  else
    for (const key of Object.keys(value))
      count += 1 + countKeys((value as Record<string, unknown>)[key]);
  return count;
}

/** Set while reading: a key that was not a string (the map tag cannot return it). */
let nonStringKey = false;

/** An explicit tag (`!!int "5"`) is the positioned parser's to read. */
const implicitOnly = <T>(read: (source: string) => T | typeof NOT_RESOLVED) => ({
  resolve: (source: string, isExplicit: boolean) => (isExplicit ? NOT_RESOLVED : read(source)),
  identify: () => false,
});

const digits = [..."0123456789"];

// The tests and values below are those of the `yaml` package's core schema (schema/core).
const schema = new Schema([
  defineScalarTag("tag:yaml.org,2002:str", {
    ...implicitOnly((source) => source),
    identify: (data) => typeof data === "string",
  }),
  defineScalarTag("tag:yaml.org,2002:null", {
    implicit: true,
    implicitFirstChars: ["", "~", "n", "N"],
    ...implicitOnly((source) => (/^(?:~|[Nn]ull|NULL)?$/.test(source) ? null : NOT_RESOLVED)),
  }),
  defineScalarTag("tag:yaml.org,2002:bool", {
    implicit: true,
    implicitFirstChars: ["t", "T", "f", "F"],
    ...implicitOnly((source) =>
      /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(source)
        ? source[0] === "t" || source[0] === "T"
        : NOT_RESOLVED,
    ),
  }),
  defineScalarTag("tag:yaml.org,2002:int", {
    implicit: true,
    implicitFirstChars: [...digits, "-", "+"],
    ...implicitOnly((source) => {
      if (/^0o[0-7]+$/.test(source)) return parseInt(source.slice(2), 8);
      if (/^[-+]?[0-9]+$/.test(source)) return parseInt(source, 10);
      if (/^0x[0-9a-fA-F]+$/.test(source)) return parseInt(source.slice(2), 16);
      return NOT_RESOLVED;
    }),
  }),
  defineScalarTag("tag:yaml.org,2002:float", {
    implicit: true,
    implicitFirstChars: [...digits, "-", "+", "."],
    ...implicitOnly((source) => {
      if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(source))
        return source.slice(-3).toLowerCase() === "nan"
          ? Number.NaN
          : source[0] === "-"
            ? Number.NEGATIVE_INFINITY
            : Number.POSITIVE_INFINITY;
      if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(source))
        return parseFloat(source);
      if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(source)) return parseFloat(source);
      return NOT_RESOLVED;
    }),
  }),
  seqTag,
  // Keys as `toJS()` writes them: null as "", numbers and booleans as String(key).
  defineMappingTag<Record<string, unknown>>("tag:yaml.org,2002:map", {
    create: () => ({}),
    addPair: (map, key, value) => {
      if (key !== null && typeof key === "object") return "a collection as a key";
      if (typeof key !== "string") nonStringKey = true;
      const name = key === null ? "" : String(key);
      if (name === "__proto__")
        Object.defineProperty(map, name, {
          value,
          enumerable: true,
          configurable: true,
          writable: true,
        });
      else map[name] = value;
      return "";
    },
    has: (map, key) =>
      (key === null || typeof key !== "object") &&
      Object.hasOwn(map, key === null ? "" : String(key)),
    keys: (map) => Object.keys(map),
    get: (map, key) => map[String(key)],
    identify: () => false,
  }),
]);
