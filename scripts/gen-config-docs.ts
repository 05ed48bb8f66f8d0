/**
 * Writes docs/config.md, the config reference, from the JSON Schema that src/config/schema/
 * produces, with examples/quickstart.yaml as the worked example. `npm run docs` runs it;
 * src/config/docs.test.ts fails when the committed file is out of date.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the docs show ${env:...} literally
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { configJsonSchema, envReferenceSchema } from "../src/config/json-schema.ts";
import { unitKeyword } from "../src/config/schema/index.ts";

export const configDocsPath = fileURLToPath(new URL("../docs/config.md", import.meta.url));
export const examplePath = fileURLToPath(new URL("../examples/quickstart.yaml", import.meta.url));

/** The parts of JSON Schema the config's schema uses. */
interface JsonSchema {
  type?: string;
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  allOf?: { if?: { properties?: { name?: { const?: string } } }; then?: JsonSchema }[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minItems?: number;
  minLength?: number;
  [unitKeyword]?: string;
}

interface Section {
  title: string;
  description: string | undefined;
  node: JsonSchema;
  /** The heading's level; by default 2 for a top-level key, 3 below it. */
  level?: number;
}

/** docs/config.md as it should be for the current schema and example. */
export function renderConfigDocs(
  schema: JsonSchema = configJsonSchema() as JsonSchema,
  example: string = readFileSync(examplePath, "utf8"),
): string {
  const sections: Section[] = [];
  collectSections(schema, "", schema.description, sections);
  const out = [
    "# Configuration reference",
    "",
    "<!-- Generated from src/config/schema/ by scripts/gen-config-docs.ts. Do not edit: run `npm run docs`. -->",
    "",
    "A config file is YAML, or JSON. `gatehouse validate -c FILE` checks it without starting",
    "anything and prints every problem as `FILE:LINE:COL message`; `gatehouse start -c FILE`",
    "refuses to start with any. `gatehouse schema` prints the JSON Schema, for editor",
    "completion (e.g. `# yaml-language-server: $schema=./gatehouse.schema.json`).",
    "",
    "`gateway` is static: a change needs a restart. `services`, `routes`, `consumers` and",
    "`plugins` are the dynamic part. Keys not listed here are errors, with a did-you-mean.",
    "In the tables, **required** keys must be given, and — marks an optional key with no default.",
    "",
    "## Value formats",
    "",
    "| Format | Written as | Notes |",
    "|---|---|---|",
    "| duration | `250ms`, `5s`, `1.5m`, `1h`, `1d` | A number and a unit (ms, s, m, h, d); a bare number is an error. Read as milliseconds. |",
    "| size | `512kb`, `10mb`, `1gb`, or a number of bytes | Units are binary (1kb = 1024 bytes); `kib`, `mib`, `gib` are accepted too. |",
    '| `${env:NAME}` | `port: ${env:PORT}` | Replaced by the environment variable; an unset variable is an error at its line and column. A value that is only a reference takes the type of what it holds, so `${env:PORT}` can fill a number. Inside `[ ]` or `{ }`, quote it: `"${env:PORT}"`. |',
    "| `${env:NAME:-default}` | `shutdownTimeout: ${env:GRACE:-30s}` | As above, with a default used when the variable is unset or empty. |",
    "| `${file:PATH}` | `keys: [\"${file:secrets/alice-key}\"]` | The file's content without its final newline; `PATH` is relative to the config file's directory. A missing or unreadable file is an error at the reference. Always a string. |",
    '| `${enc:v1....}` | `keys: ["${enc:v1.L5nY...}"]` | A value made by `gatehouse secret encrypt`, decrypted with `GATEHOUSE_SECRET_KEY` (or `GATEHOUSE_SECRET_KEY_FILE`); a wrong key or an altered value is an error at the reference. Always a string. See [Secrets](control-plane.md#secrets). |',
    "",
    "Values substituted from `${env:…}`, `${file:…}` and `${enc:…}` are treated as secrets: never shown in config errors or the process log (see [Secrets](control-plane.md#secrets)).",
    "",
    "## Example",
    "",
    "[`examples/quickstart.yaml`](../examples/quickstart.yaml):",
    "",
    "```yaml",
    example.trimEnd(),
    "```",
  ];
  for (const section of sections) out.push("", ...renderSection(section));
  out.push(
    "",
    "## Plugin settings",
    "",
    "The `config` of a plugin entry, global or on a service, route or consumer, for each built-in plugin (chosen by `name`; [plugins.md](plugins.md) says what each does). The JSON Schema gives editors the same, per plugin. A plugin from `gateway.pluginModules` takes what its own schema says.",
  );
  for (const section of pluginSections(schema)) out.push("", ...renderSection(section));
  return `${out.join("\n")}\n`;
}

/** Each built-in plugin's `config`, as the plugin entry's `if name … then config …` gives it. */
function pluginSections(schema: JsonSchema): Section[] {
  const entry = schema.properties?.plugins?.items;
  const sections: Section[] = [];
  for (const branch of entry?.allOf ?? []) {
    const name = branch.if?.properties?.name?.const;
    const config = branch.then?.properties?.config;
    if (!name || !config) continue;
    const own: Section[] = [];
    collectSections(config, name, undefined, own);
    for (const section of own) sections.push({ ...section, level: section === own[0] ? 3 : 4 });
  }
  return sections;
}

/** Every object in the schema, depth first, each named by its place in a config file. */
function collectSections(
  node: JsonSchema,
  title: string,
  description: string | undefined,
  sections: Section[],
): void {
  sections.push({ title, description, node });
  for (const [key, property] of Object.entries(node.properties ?? {})) {
    const nested = nestedObject(property, title ? `${title}.${key}` : key);
    if (nested) collectSections(nested.node, nested.title, property.description, sections);
  }
}

/** The object a property holds (itself, its list items, its map values), with its title. */
function nestedObject(
  node: JsonSchema,
  title: string,
): { node: JsonSchema; title: string } | undefined {
  const object = objectIn(node);
  if (object) return { node: object, title };
  if (node.type === "array" && node.items) {
    const items = objectIn(node.items);
    if (items) return { node: items, title: `${title}[]` };
  }
  if (node.type === "object" && typeof node.additionalProperties === "object") {
    const values = objectIn(node.additionalProperties);
    if (values) return { node: values, title: `${title}.<name>` };
  }
  return undefined;
}

/**
 * The object a node describes. A union of objects (each alternative one key, like
 * `hashOn`) is documented as one table of all their keys; none of them is required.
 */
function objectIn(node: JsonSchema): JsonSchema | undefined {
  if (node.type === "object" && node.properties) return node;
  const objects = node.anyOf?.filter((option) => option.type === "object" && option.properties);
  if (!objects || objects.length === 0) return undefined;
  if (objects.length === 1) return objects[0];
  return {
    type: "object",
    properties: Object.assign({}, ...objects.map((option) => option.properties)),
  };
}

function renderSection({ title, description, node, level }: Section): string[] {
  const hashes = "#".repeat(level ?? (title.includes(".") ? 3 : 2));
  const lines = [title ? `${hashes} \`${title}\`` : "## Top level", ""];
  if (description) lines.push(description, "");
  lines.push("| Key | Type | Default | Description |", "|---|---|---|---|");
  const required = new Set(node.required ?? []);
  for (const [key, property] of Object.entries(node.properties ?? {})) {
    const nested = nestedObject(property, title ? `${title}.${key}` : key);
    const link = nested ? ` ([details](#${anchor(nested.title)}))` : "";
    lines.push(
      row([
        `\`${key}\``,
        typeOf(property) + link,
        required.has(key) ? "**required**" : defaultOf(property),
        property.description ?? "",
      ]),
    );
  }
  return lines;
}

/** A reader's name for the type of a value. */
function typeOf(node: JsonSchema): string {
  const unit = node[unitKeyword];
  if (unit) return unit;
  const options = node.anyOf?.filter((option) => !isEnvReference(option));
  if (options) return options.map(typeOf).join(" or ");
  if (node.enum) return node.enum.map((value) => `\`${String(value)}\``).join(" \\| ");
  switch (node.type) {
    case "integer":
    case "number":
      return `${node.type}${range(node)}`;
    case "boolean":
      return "boolean";
    case "string":
      return node.minLength ? "string (not empty)" : "string";
    case "array": {
      const items = node.items ? typeOf(node.items) : "any";
      return `list of ${items}${node.minItems ? ` (at least ${node.minItems})` : ""}`;
    }
    case "object":
      if (node.properties) return "object";
      if (typeof node.additionalProperties === "object") {
        const values = typeOf(node.additionalProperties);
        return values ? `map of name → ${values}` : "map of name → any value";
      }
      return "object";
    default:
      return "";
  }
}

const isEnvReference = (node: JsonSchema): boolean =>
  (node as { pattern?: string }).pattern === (envReferenceSchema as { pattern: string }).pattern;

/** ` (0–65535)`, ` (at least 1)`; the ±2^53 bounds zod adds to every integer say nothing. */
function range({ minimum, maximum }: JsonSchema): string {
  const low = minimum !== undefined && minimum > Number.MIN_SAFE_INTEGER ? minimum : undefined;
  const high = maximum !== undefined && maximum < Number.MAX_SAFE_INTEGER ? maximum : undefined;
  if (low !== undefined && high !== undefined) return ` (${low}–${high})`;
  if (low !== undefined) return ` (at least ${low})`;
  if (high !== undefined) return ` (at most ${high})`;
  return "";
}

function defaultOf(node: JsonSchema): string {
  if (node.default === undefined) return "—";
  return `\`${typeof node.default === "string" ? node.default : JSON.stringify(node.default)}\``;
}

const row = (cells: string[]): string =>
  `| ${cells.map((cell) => cell.replaceAll("|", "\\|").replaceAll("\\\\|", "\\|")).join(" | ")} |`;

/** The id GitHub gives a heading: lower case, punctuation dropped, spaces to dashes. */
function anchor(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^\w\- ]/g, "")
    .replaceAll(" ", "-");
}

if (import.meta.main) {
  writeFileSync(configDocsPath, renderConfigDocs());
  console.log(`wrote ${configDocsPath}`);
}
