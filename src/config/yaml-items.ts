/**
 * @module config/yaml-items
 * Reading a YAML config again after a small edit, for config/fast-yaml: the items of its
 * top-level block sequences (`routes:`, `services:`, ...) are cut apart by their `- ` lines
 * and each item's text is parsed once; an item whose text is the same as in one of the last
 * reads is taken from then (copied). A reload of 10,000 routes that changed one then parses
 * one route, not 1.1 MB. Whenever the text is not plainly cut this way, or the pieces do not
 * parse to what cutting promised, the caller parses the text whole.
 */

/** Parses YAML text to plain data (undefined when it does not parse), as config/fast-yaml does. */
export type ParseYaml = (text: string) => { data: unknown; nonStringKey: boolean } | undefined;

/** One item as parsed, kept for the next reads; never handed out itself (copied). */
interface Parsed {
  data: unknown;
  nonStringKey: boolean;
}

/** The text cut apart: what is left with the items taken out, and the items of each key. */
interface Cut {
  skeleton: string;
  sections: { key: string; items: string[] }[];
}

/** Items seen in the last few reads (a base file and its overlay are two reads per load). */
const generations: Map<string, Parsed>[] = [];
const keptGenerations = 4;

/**
 * `text` parsed with `parse`, item by item where it can be cut (see the module), or
 * undefined when it cannot: then nothing was parsed, and the caller parses it whole.
 */
export function parseByItems(text: string, parse: ParseYaml): Parsed | undefined {
  const cut = cutItems(text);
  if (!cut) return undefined;
  const skeleton = parse(cut.skeleton);
  const data = skeleton?.data as Record<string, unknown> | null | undefined;
  if (!skeleton || data === null || typeof data !== "object" || Array.isArray(data))
    return undefined;
  let nonStringKey = skeleton.nonStringKey;
  const current = new Map<string, Parsed>();
  for (const { key, items } of cut.sections) {
    // The key's value is the block sequence taken out: the skeleton must hold it as null.
    if (key === "__proto__" || !Object.hasOwn(data, key) || data[key] !== null) return undefined;
    const found = items.map((item) => current.get(item) ?? known(item));
    const missing = items.filter((_, index) => found[index] === undefined);
    if (missing.length > 0) {
      const parsed = parseItems(missing, parse);
      if (!parsed) return undefined;
      let next = 0;
      for (let index = 0; index < items.length; index++) {
        if (found[index] !== undefined) continue;
        const entry = parsed[next++]!;
        found[index] = entry;
        current.set(items[index]!, entry);
      }
    }
    const values: unknown[] = [];
    for (let index = 0; index < items.length; index++) {
      const entry = found[index]!;
      current.set(items[index]!, entry);
      nonStringKey ||= entry.nonStringKey;
      values.push(copy(entry.data));
    }
    data[key] = values;
  }
  generations.unshift(current);
  generations.length = Math.min(generations.length, keptGenerations);
  return { data, nonStringKey };
}

/**
 * Items' texts parsed together, each to its own entry (a copy, kept apart from the data
 * handed out), or undefined when they do not give exactly one item each: then one ran into
 * the next, and so it might have in the whole text too.
 */
function parseItems(items: readonly string[], parse: ParseYaml): Parsed[] | undefined {
  const parsed = parse(items.join(""));
  const list = parsed?.data;
  if (!parsed || !Array.isArray(list) || list.length !== items.length) return undefined;
  // Which item had a key that is not a string: only asked again when one of them did.
  if (parsed.nonStringKey && items.length > 1) {
    const each = items.map((item) => parseItems([item], parse));
    return each.every((entries) => entries !== undefined) ? each.flat() : undefined;
  }
  return list.map((data) => ({ data: copy(data), nonStringKey: parsed.nonStringKey }));
}

function known(item: string): Parsed | undefined {
  for (const generation of generations) {
    const entry = generation.get(item);
    if (entry) return entry;
  }
  return undefined;
}

/** A top-level key with nothing after it but a comment: its value is on the lines below. */
const keyLine = /^([A-Za-z_][A-Za-z0-9_-]*):[ ]*(?:#.*)?\r?\n?$/;

/**
 * Cuts `text` into the skeleton and the items of its top-level block sequences, or returns
 * undefined when the text is not plainly made of them: anchors (an alias may reach into
 * another item), tabs, several documents, or a line where an item's text should continue
 * that is indented less than the item. An item runs from its `- ` line at the sequence's
 * indentation to the next one: lines between belong to it whatever they hold (a block
 * scalar's `#` is text), and whatever they open must close within it, or parsing the
 * pieces tells (see parseByItems).
 */
export function cutItems(text: string): Cut | undefined {
  // Without its last line break, a last item's text could not be joined to another's.
  if (text.includes("&") || text.includes("\t") || !text.endsWith("\n")) return undefined;
  const sections: Cut["sections"] = [];
  const skeleton: string[] = [];
  /** The sequence whose items are being read, its indentation once its first item is seen. */
  let section: { key: string; items: string[]; indent: number | undefined } | undefined;
  /** Inside a top-level key whose value is not a block sequence: lines go to the skeleton. */
  let otherBlock = false;
  for (let start = 0; start < text.length; ) {
    const end = text.indexOf("\n", start);
    const stop = end === -1 ? text.length : end + 1;
    const line = text.slice(start, stop);
    start = stop;
    const indent = leadingSpaces(line);
    const blank = indent === line.length || /^\r?\n$/.test(line.slice(indent));
    const comment = line[indent] === "#";
    if (section) {
      const items = section.items;
      if (blank || comment) {
        if (items.length > 0) items[items.length - 1] += line;
        else skeleton.push(line);
        continue;
      }
      const dash = line[indent] === "-" && /^[ \r\n]|^$/.test(line.slice(indent + 1, indent + 2));
      if (section.indent === undefined && dash) section.indent = indent;
      if (indent === section.indent && dash) {
        items.push(line);
        continue;
      }
      if (section.indent !== undefined && indent > section.indent && items.length > 0) {
        items[items.length - 1] += line;
        continue;
      }
      if (indent > 0) {
        // Not a sequence after all (a mapping or a scalar below the key): the skeleton's.
        if (items.length > 0) return undefined;
        skeleton.push(line);
        section = undefined;
        otherBlock = true;
        continue;
      }
      if (items.length > 0) sections.push(section);
      section = undefined;
    }
    if (indent > 0 || blank || comment) {
      // Indented text before any top-level key: not a mapping at the top.
      if (indent > 0 && !blank && !comment && !otherBlock) return undefined;
      skeleton.push(line);
      continue;
    }
    // A line at column 0: a new top-level key, or something this cut does not read.
    if (line.startsWith("---") || line.startsWith("...")) return undefined;
    otherBlock = false;
    skeleton.push(line);
    const key = keyLine.exec(line)?.[1];
    if (key !== undefined) section = { key, items: [], indent: undefined };
    else otherBlock = true;
  }
  if (section && section.items.length > 0) sections.push(section);
  if (sections.length === 0) return undefined;
  // A key repeated at the top is refused by the parsers; the cut would merge it.
  if (new Set(sections.map((s) => s.key)).size !== sections.length) return undefined;
  return { skeleton: skeleton.join(""), sections };
}

function leadingSpaces(line: string): number {
  let count = 0;
  while (line.charCodeAt(count) === 32) count++;
  return count;
}

/** A deep copy of plain data: what parseByItems hands out may be changed by its caller. */
function copy(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(copy);
  const result: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item = copy((value as Record<string, unknown>)[key]);
    if (key === "__proto__")
      Object.defineProperty(result, key, {
        value: item,
        enumerable: true,
        configurable: true,
        writable: true,
      });
    else result[key] = item;
  }
  return result;
}
