/**
 * @module portal/security
 * What a route asks of its callers, in OpenAPI terms: each authentication plugin becomes a
 * security scheme (key-auth → apiKey in its header or query argument, jwt and
 * oauth2-introspection → HTTP bearer, basic-auth → HTTP basic). Any one of a route's
 * schemes admits a request (the gateway refuses only when none identified the caller), so
 * they are alternatives; `anonymous` makes authentication optional. Nothing else of a
 * plugin's config (keys, secrets, URLs) is read.
 */
import type { PluginConfig } from "../config/schema/index.ts";

/** An OpenAPI Security Scheme Object. */
export type SecurityScheme = Record<string, unknown>;

export interface RouteSecurity {
  /** The schemes the route uses, by their name in `components.securitySchemes`. */
  schemes: Record<string, SecurityScheme>;
  /** The operation's `security`: alternatives; `{}` among them when a caller may stay anonymous. */
  requirements: Record<string, string[]>[];
  /** For people: `API key (header x-api-key)`, `Bearer token (JWT)`. */
  labels: string[];
}

/** Component names allow letters, digits, `.`, `-` and `_` only. */
const componentName = (text: string) => text.replace(/[^A-Za-z0-9.\-_]/g, "_");

/** The security of a route running `plugins` (its effective plugin entries). */
export function routeSecurity(plugins: readonly PluginConfig[]): RouteSecurity {
  const security: RouteSecurity = { schemes: {}, requirements: [], labels: [] };
  let optional = false;
  const add = (name: string, scheme: SecurityScheme, label: string) => {
    security.schemes[name] = scheme;
    security.requirements.push({ [name]: [] });
    security.labels.push(label);
  };
  for (const { name, config } of plugins) {
    if (name === "key-auth") {
      const header = typeof config.header === "string" ? config.header : "x-api-key";
      add(
        componentName(`key-auth.header.${header.toLowerCase()}`),
        { type: "apiKey", in: "header", name: header, description: "An API key." },
        `API key (header ${header})`,
      );
      if (typeof config.query === "string")
        add(
          componentName(`key-auth.query.${config.query}`),
          { type: "apiKey", in: "query", name: config.query, description: "An API key." },
          `API key (query ${config.query})`,
        );
    } else if (name === "jwt") {
      add("jwt", { type: "http", scheme: "bearer", bearerFormat: "JWT" }, "Bearer token (JWT)");
    } else if (name === "oauth2-introspection") {
      add(
        "oauth2-introspection",
        { type: "http", scheme: "bearer", description: "An OAuth 2.0 access token." },
        "Bearer token (OAuth 2.0 access token)",
      );
    } else if (name === "basic-auth") {
      add("basic-auth", { type: "http", scheme: "basic" }, "HTTP Basic (user name and password)");
    } else continue;
    if (typeof config.anonymous === "string") optional = true;
  }
  if (optional && security.requirements.length > 0) {
    security.requirements.push({});
    security.labels.push("or none (anonymous callers admitted)");
  }
  return security;
}
