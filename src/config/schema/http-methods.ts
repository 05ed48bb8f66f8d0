/**
 * @module config/schema/http-methods
 * Which HTTP method names a config may use: the standard ones, and those it lists in
 * `gateway.customMethods`. A mistyped method (`GTE`, `FETCH`) would make a route or rule
 * that never matches, so every method written in a route or a plugin's config is checked
 * against the list, with a did-you-mean.
 */
import { METHODS } from "node:http";
import { z } from "zod";
import type { PathProblem } from "../semantics.ts";
import { closest, schemaDef } from "../suggest.ts";

/** RFC 9110's methods, and PATCH (RFC 5789). */
export const standardMethods = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
] as const;

const standard = new Set<string>(standardMethods);

/**
 * Node's HTTP parser answers 400 to a request whose method it does not know, so a custom
 * method must be one of these (PURGE, PROPFIND, QUERY, ...) to ever reach a route.
 */
const parsedByNode = new Set(METHODS);

/**
 * A method name in a route or a plugin's config. Its spelling is checked here; whether it
 * is a method this config may use is checked with the whole config (see `checkMethods`),
 * since that depends on `gateway.customMethods`. Plugins use this same field for their
 * method lists, so theirs are checked too.
 */
export const httpMethod = z
  .string()
  .regex(/^[A-Z][A-Z-]*$/, "expected an upper-case HTTP method")
  .meta({
    description: `An HTTP method: ${standardMethods.join(", ")}, or one listed in \`gateway.customMethods\`.`,
    examples: [...standardMethods],
  });

/** `gateway.customMethods`: methods beyond the standard ones that routes and plugins may name. */
export const customMethodsSchema = z
  .array(
    z
      .string()
      .superRefine((method, ctx) => {
        const problem = customMethodProblem(method);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      // Offered by editors: the methods Node.js receives beyond the standard ones.
      .meta({ examples: METHODS.filter((method) => !standard.has(method)) }),
  )
  .default([])
  .describe(
    "Methods other than GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE and PATCH that routes and plugins may name, e.g. `[PURGE, PROPFIND]`: any other name is refused as a likely typo. Upper case, as clients send them; only methods Node.js's HTTP parser accepts (it answers 400 to others).",
  );

function customMethodProblem(method: string): string | undefined {
  if (standard.has(method)) return `${method} is a standard method: it needs no listing here`;
  if (parsedByNode.has(method)) return undefined;
  const hint = closest(method, parsedByNode);
  const didYouMean = hint ? ` (did you mean "${hint}"?)` : "";
  return `"${method}" is not a method Node.js's HTTP parser accepts, so no request could use it${didYouMean}`;
}

/** The custom methods a config lists, read defensively from raw input. */
export function customMethodsOf(input: unknown): Set<string> {
  const listed = (input as { gateway?: { customMethods?: unknown } } | null)?.gateway
    ?.customMethods;
  const methods = Array.isArray(listed) ? listed : [];
  return new Set(methods.filter((method): method is string => typeof method === "string"));
}

/**
 * What is wrong with `method` in a config whose custom methods are `custom`, if anything.
 * A name the field itself refuses (lower case, say) is left to the field's message.
 */
export function methodProblem(method: string, custom: ReadonlySet<string>): string | undefined {
  if (standard.has(method) || custom.has(method)) return undefined;
  if (!/^[A-Z][A-Z-]*$/.test(method)) return undefined;
  if (parsedByNode.has(method))
    return `"${method}" is not a standard HTTP method: add it to gateway.customMethods if your clients send it`;
  const hint = closest(method, [...standardMethods, ...custom]);
  return `"${method}" is not an HTTP method${hint ? ` (did you mean "${hint}"?)` : ""}`;
}

/** Every route's `match.methods`, checked against the standard and custom methods. */
export function checkMethods(input: unknown): PathProblem[] {
  const problems: PathProblem[] = [];
  const routes = (input as { routes?: unknown } | null)?.routes;
  if (!Array.isArray(routes)) return problems;
  const custom = customMethodsOf(input);
  routes.forEach((route, index) => {
    const methods = (route as { match?: { methods?: unknown } } | null)?.match?.methods;
    if (!Array.isArray(methods)) return;
    methods.forEach((method, at) => {
      const problem = typeof method === "string" ? methodProblem(method, custom) : undefined;
      if (problem)
        problems.push({ path: ["routes", index, "match", "methods", at], message: problem });
    });
  });
  return problems;
}

/**
 * The method names in a plugin's parsed config, with their paths: every value its schema
 * takes with the `httpMethod` field.
 */
export function methodsInPluginConfig(
  schema: z.ZodType,
  value: unknown,
): { path: (string | number)[]; method: string }[] {
  const found: { path: (string | number)[]; method: string }[] = [];
  const visit = (node: z.ZodType, at: unknown, path: (string | number)[]): void => {
    if (at === undefined || at === null) return;
    if (node === httpMethod) {
      if (typeof at === "string") found.push({ path, method: at });
      return;
    }
    const def = schemaDef(node);
    switch (def.type) {
      case "object":
        if (typeof at !== "object") return;
        for (const [key, field] of Object.entries(def.shape ?? {}))
          visit(field, (at as Record<string, unknown>)[key], [...path, key]);
        return;
      case "array":
        if (Array.isArray(at) && def.element)
          for (const [index, item] of at.entries()) visit(def.element, item, [...path, index]);
        return;
      case "record":
        if (typeof at === "object" && def.valueType)
          for (const [key, item] of Object.entries(at)) visit(def.valueType, item, [...path, key]);
        return;
      case "union":
        for (const option of def.options ?? []) visit(option, at, path);
        return;
      case "pipe": {
        // The parsed value is what `out` gave; a transform's output is only followed back
        // through what it was made from, which has the same shape in the schemas here.
        const next = def.out && schemaDef(def.out).type !== "transform" ? def.out : def.in;
        if (next) visit(next, at, path);
        return;
      }
      default: {
        const inner = def.innerType ?? def.getter?.();
        if (inner) visit(inner, at, path);
      }
    }
  };
  visit(schema, value, []);
  return found;
}
