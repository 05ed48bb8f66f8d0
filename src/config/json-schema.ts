/**
 * @module config/json-schema
 * The JSON Schema of the config file, for editor autocompletion, generated from the same
 * zod schemas the validator uses: the config's, and each built-in plugin's for the
 * `config` of an entry that names it.
 */
import { z } from "zod";
import type { PluginDefinition } from "../pipeline/plugin.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { configSchema, pluginSchema } from "./schema/index.ts";
import { wholeReference } from "./substitute.ts";

type JsonSchema = Record<string, unknown>;

/** The alternative every number or boolean accepts: a `${env:NAME}` reference, resolved at load. */
export const envReferenceSchema: JsonSchema = {
  type: "string",
  pattern: wholeReference.source,
  description:
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the text shows the literal syntax
    "A `${env:NAME}` or `${env:NAME:-default}` reference, replaced when the config loads.",
};

/** The JSON Schema (draft 2020-12) describing what a config file may contain. */
export function configJsonSchema(): JsonSchema {
  const plugins = builtinPlugins;
  const schema = z.toJSONSchema(configSchema, {
    io: "input",
    unrepresentable: "any",
    override: ({ zodSchema, jsonSchema }) => {
      if (zodSchema === pluginSchema) choosePluginConfig(jsonSchema, plugins);
    },
  });
  return { ...(allowEnvReferences(schema) as JsonSchema), title: "Gatehouse configuration" };
}

/**
 * Gives a plugin entry the schema of the plugin it names: `name` offers the built-in names
 * (and still takes any other, for plugin modules, whose `config` stays any map), and one
 * `if name is X then config is X's` per plugin, which editors follow for completion.
 */
function choosePluginConfig(entry: JsonSchema, plugins: readonly PluginDefinition[]): void {
  const properties = entry.properties as Record<string, JsonSchema>;
  const name = properties.name!;
  properties.name = {
    ...name,
    anyOf: [
      { enum: plugins.map((plugin) => plugin.name), description: "A built-in plugin." },
      { type: "string", description: "A plugin from `gateway.pluginModules`." },
    ],
  };
  const described = properties.config!.description;
  entry.allOf = plugins.map((plugin) => {
    const { $schema: _, ...config } = z.toJSONSchema(plugin.schema, {
      io: "input",
      unrepresentable: "any",
    }) as JsonSchema;
    // Required settings make `config` itself required: it defaults to an empty map.
    const required = Array.isArray(config.required) && config.required.length > 0;
    return {
      if: { properties: { name: { const: plugin.name } }, required: ["name"] },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's keyword, never awaited
      then: {
        properties: { config: { description: described, ...config } },
        ...(required && { required: ["config"] }),
      },
    };
  });
}

// Keywords that say what a value is; they move into the typed alternative. The rest
// (description, default, ...) stay on the node, so editors still show them.
const constraints = new Set([
  "type",
  "enum",
  "const",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
]);

/**
 * A number or boolean written as `${env:PORT}` is a string in the file, and only
 * becomes a number when the config loads; without this, editors would flag every such
 * reference (examples/quickstart.yaml has one).
 */
function allowEnvReferences(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowEnvReferences);
  if (node === null || typeof node !== "object") return node;
  const source = node as JsonSchema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(source)) {
    // A choice that already takes any string takes a reference too.
    const takesStrings =
      key === "anyOf" && Array.isArray(value) && value.some((v) => isPlainString(v));
    out[key] = takesStrings ? value : allowEnvReferences(value);
  }
  if (out.type !== "integer" && out.type !== "number" && out.type !== "boolean") return out;
  const typed: JsonSchema = {};
  const wrapped: JsonSchema = {};
  for (const [key, value] of Object.entries(out))
    (constraints.has(key) ? typed : wrapped)[key] = value;
  return { ...wrapped, anyOf: [typed, envReferenceSchema] };
}

const isPlainString = (node: unknown): boolean =>
  typeof node === "object" &&
  node !== null &&
  (node as JsonSchema).type === "string" &&
  !("pattern" in node) &&
  !("enum" in node);
