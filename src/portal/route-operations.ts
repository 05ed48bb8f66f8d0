/**
 * @module portal/route-operations
 * Operations made from a route alone, for a service with no OpenAPI document of its own and
 * no plugin that describes it: one per path and method the route takes, path parameters
 * from `:name`, a trailing `*` as `{rest}`. Nothing is known of bodies or answers, so
 * there are no schemas.
 */
import type { RouteConfig } from "../config/schema/index.ts";
import { parsePathPattern } from "../router/path-pattern.ts";
import type { OpenApiOperation } from "./openapi-fragment.ts";

/** What a route that names no methods is listed with (it takes any). */
const anyMethod = ["GET", "POST", "PUT", "PATCH", "DELETE"];
/** The methods an OpenAPI Path Item can hold (HEAD and OPTIONS are the gateway's to answer). */
const documented = new Set([...anyMethod, "TRACE"]);

/** One generated operation: its OpenAPI path template, lower-case method and the object. */
export interface RouteOperation {
  path: string;
  method: string;
  operation: OpenApiOperation;
}

/** The wildcard's parameter name, unless a `:rest` parameter already has it. */
function wildcardName(paramNames: readonly string[]): string {
  let name = "rest";
  while (paramNames.includes(name)) name = `_${name}`;
  return name;
}

/** `/users/:id/*` → `/users/{id}/{rest}`, with the parameters' OpenAPI objects. */
export function openApiPath(source: string): { path: string; parameters: OpenApiOperation[] } {
  const pattern = parsePathPattern(source);
  const rest = wildcardName(pattern.paramNames);
  const parameters: OpenApiOperation[] = [];
  const segments = pattern.segments.map((segment) => {
    if (segment.kind === "static") return segment.text;
    const name = segment.kind === "param" ? segment.name : rest;
    parameters.push({
      name,
      in: "path",
      required: true,
      schema: { type: "string" },
      ...(segment.kind === "wildcard" && {
        description: "The rest of the path: any number of segments, `/` included.",
      }),
    });
    return `{${name}}`;
  });
  return { path: `/${segments.join("/")}`, parameters };
}

/** The operations a route takes, one per path and method. */
export function routeOperations(route: RouteConfig): RouteOperation[] {
  const methods = (route.match.methods ?? anyMethod).filter((method) => documented.has(method));
  const operations: RouteOperation[] = [];
  for (const source of route.match.paths) {
    const { path, parameters } = openApiPath(source);
    for (const method of methods) {
      operations.push({
        path,
        method: method.toLowerCase(),
        operation: {
          summary: `${method} ${path}`,
          ...(parameters.length > 0 && { parameters }),
          responses: { default: { description: "The service's answer." } },
        },
      });
    }
  }
  return operations;
}
