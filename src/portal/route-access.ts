/**
 * @module portal/route-access
 * What the portal adds to every operation a published route serves, wherever the
 * operation came from: the service's tag, the route's security (which replaces whatever
 * the upstream's own document said), its rate limits as `x-gatehouse-rate-limit` and a
 * sentence, and the gateway's own error answers (401, 429) in its JSON error shape.
 */
import type { GatehouseConfig, RouteConfig } from "../config/schema/index.ts";
import { type ErrorCode, errorCatalogue } from "../errors.ts";
import type { OpenApiOperation } from "./openapi-fragment.ts";
import { type RateLimitNote, rateLimitNotes, rateLimitSentence } from "./rate-limits.ts";
import { routePlugins } from "./route-plugins.ts";
import { type RouteSecurity, routeSecurity } from "./security.ts";

/** What callers of one route must know. */
export interface RouteAccess {
  security: RouteSecurity;
  limits: RateLimitNote[];
  /** The methods it takes (upper-case); undefined: any. */
  methods: readonly string[] | undefined;
}

export function routeAccess(config: GatehouseConfig, route: RouteConfig): RouteAccess {
  const plugins = routePlugins(config, route);
  return {
    security: routeSecurity(plugins),
    limits: rateLimitNotes(plugins),
    methods: route.match.methods,
  };
}

/** The name of the gateway's error schema in `components.schemas`. */
export const errorSchemaName = "GatehouseError";

/** The gateway's JSON error answer (see docs/errors.md). */
export const errorSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "string", description: "A stable code from docs/errors.md." },
        message: { type: "string" },
        requestId: { type: "string" },
      },
    },
  },
};

const errorResponse = (description: string, code: ErrorCode) => ({
  description,
  content: {
    "application/json": {
      schema: { $ref: `#/components/schemas/${errorSchemaName}` },
      example: { error: { code, message: errorCatalogue[code].message, requestId: "…" } },
    },
  },
});

/** `operation` as the portal publishes it for a route of `service`. */
export function publishedOperation(
  operation: OpenApiOperation,
  access: RouteAccess,
  service: string,
): OpenApiOperation {
  const { servers: _servers, security: _security, ...rest } = operation;
  const published: OpenApiOperation = { ...rest, tags: [service] };
  const responses = { ...(operation.responses as Record<string, unknown> | undefined) };
  if (access.security.requirements.length > 0) {
    published.security = access.security.requirements;
    responses["401"] ??= errorResponse("No valid credentials were sent.", "GATEHOUSE_UNAUTHORIZED");
  } else published.security = [];
  if (access.limits.length > 0) {
    published["x-gatehouse-rate-limit"] = access.limits;
    const sentence = `Rate limit: ${access.limits.map(rateLimitSentence).join(", and ")}.`;
    published.description = operation.description
      ? `${operation.description}\n\n${sentence}`
      : sentence;
    responses["429"] ??= errorResponse(
      "Too many requests: the rate limit was reached.",
      "GATEHOUSE_RATE_LIMITED",
    );
  }
  if (Object.keys(responses).length === 0)
    responses.default = { description: "The service's answer." };
  published.responses = responses;
  return published;
}

/** Whether a route that takes `access.methods` takes `method` (lower-case, as in a Path Item). */
export function takesMethod(access: RouteAccess, method: string): boolean {
  return access.methods === undefined || access.methods.includes(method.toUpperCase());
}
