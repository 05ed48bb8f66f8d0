/**
 * @module config/json-schema
 * The JSON Schema of the config file, for editor autocompletion, generated from the same
 * zod schema the validator uses.
 */
import { z } from "zod";
import { configSchema } from "./schema.ts";
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
  const schema = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" });
  return { ...(allowEnvReferences(schema) as JsonSchema), title: "Gatehouse configuration" };
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
