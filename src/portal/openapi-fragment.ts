/**
 * @module portal/openapi-fragment
 * The part of an OpenAPI 3.1 document a plugin contributes to the developer portal for the
 * route it is on (`PluginHooks.openapi`): operations keyed by the path clients send to the
 * gateway, and the schemas they refer to as `#/components/schemas/<name>`. The portal
 * merges the fragments of every published route into the service's document.
 */

/** An OpenAPI Schema Object (JSON Schema 2020-12 with OpenAPI's keywords). */
export type OpenApiSchema = Record<string, unknown>;

/** An OpenAPI Operation Object. */
export type OpenApiOperation = Record<string, unknown>;

/** Operations by lower-case HTTP method (`get`, `post`, ...), as in a Path Item Object. */
export type OpenApiPathItem = Record<string, OpenApiOperation>;

export interface OpenApiFragment {
  /** Path templates in OpenAPI form (`/v1/users/{id}`), as clients send them to the gateway. */
  paths: Record<string, OpenApiPathItem>;
  /** Schemas the operations refer to by `#/components/schemas/<name>`. */
  schemas?: Record<string, OpenApiSchema>;
}
