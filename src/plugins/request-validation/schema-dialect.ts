/**
 * @module plugins/request-validation/schema-dialect
 * OpenAPI 3.0's schemas are an older JSON Schema with keywords of their own; 3.1's are
 * JSON Schema 2020-12. The 3.0 differences that change what validates are rewritten to
 * their JSON Schema form once, at load, so one validator (and the portal, which publishes
 * 3.1) reads them: `nullable: true` becomes `null` among the types (or enum values), and a
 * boolean `exclusiveMinimum`/`exclusiveMaximum` takes the bound's number.
 */

/** The OpenAPI version a document declares: "3.0", "3.1", or a message saying what is wrong. */
export function openApiVersion(root: unknown): { version: "3.0" | "3.1" } | { problem: string } {
  if (root === null || typeof root !== "object" || Array.isArray(root)) {
    return { problem: "is not an OpenAPI document (expected a mapping with `openapi: 3.x`)" };
  }
  const document = root as Record<string, unknown>;
  if (typeof document.swagger === "string") {
    return { problem: `is Swagger ${document.swagger}; only OpenAPI 3.0 and 3.1 are supported` };
  }
  const version = document.openapi;
  if (typeof version !== "string") {
    return { problem: "has no `openapi` version: only OpenAPI 3.0 and 3.1 are supported" };
  }
  if (/^3\.0\.\d+/.test(version)) return { version: "3.0" };
  if (/^3\.1\.\d+/.test(version)) return { version: "3.1" };
  return { problem: `declares openapi: ${version}; only OpenAPI 3.0 and 3.1 are supported` };
}

/** Keys whose values are data, not schemas: left exactly as written. */
const dataKeys = new Set(["example", "examples", "enum", "const", "default"]);

/** Rewrites 3.0 schema keywords to JSON Schema throughout `node`, in place. */
export function upgradeSchemas30(node: unknown): void {
  if (node === null || typeof node !== "object") return;
  if (Array.isArray(node)) {
    for (const item of node) upgradeSchemas30(item);
    return;
  }
  const schema = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(schema)) {
    if (!dataKeys.has(key)) upgradeSchemas30(value);
  }
  for (const [flag, bound] of [
    ["exclusiveMinimum", "minimum"],
    ["exclusiveMaximum", "maximum"],
  ] as const) {
    if (typeof schema[flag] !== "boolean") continue;
    if (schema[flag] === true && typeof schema[bound] === "number") {
      schema[flag] = schema[bound];
      delete schema[bound];
    } else delete schema[flag];
  }
  if (typeof schema.nullable !== "boolean") return;
  const nullable = schema.nullable;
  delete schema.nullable;
  if (!nullable) return;
  if (Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum.push(null);
  if (typeof schema.type === "string") schema.type = [schema.type, "null"];
  else if (Array.isArray(schema.type)) {
    if (!schema.type.includes("null")) schema.type.push("null");
  } else if (!Array.isArray(schema.enum)) {
    // No type to widen (a $ref or a composition): null or what the rest allows.
    const rest = { ...schema };
    for (const key of Object.keys(schema)) delete schema[key];
    schema.anyOf = [rest, { type: "null" }];
  }
}
