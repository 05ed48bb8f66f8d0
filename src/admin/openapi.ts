/**
 * @module admin/openapi
 * The OpenAPI 3.1 description of the admin API, served at `GET /openapi.json`: every path
 * and method server.ts routes, with each status it can answer and the body's schema.
 * test/integration/admin-openapi.test.ts checks it against the real answers.
 */
import { components, json, ok, parameter, response, statusOf } from "./openapi-components.ts";
import { type DashboardOperationSpec, dashboardPaths } from "./openapi-dashboard.ts";
import { type RegistryOperationSpec, registryPaths } from "./openapi-registry.ts";
import { ref, resourceKinds, type Schema } from "./openapi-schemas.ts";

type Operation = Record<string, unknown>;

interface OperationSpec {
  id: string;
  summary: string;
  tags?: string[];
  /** Names in `components.parameters`. */
  parameters?: string[];
  /** The request body's content, by media type. */
  body?: Record<string, { schema: Schema }>;
  responses: Record<string, Schema>;
  /** A change: takes `If-Match`, and can be refused (400, 403, 409, 415; 413 with a body). */
  changes?: boolean;
  /** The error answers it can give besides 401 and 500, when not a config change's or a read's. */
  refusals?: string[];
}

/** An operation; every one can also answer 401 (with keys), 403 (Host) and 500. */
function operation(spec: OperationSpec): Operation {
  const { id, summary, tags, body, changes = false } = spec;
  const parameters = [...(spec.parameters ?? []), ...(changes ? ["IfMatch"] : [])];
  // Any request can have a Host that does not name the listener; a change also an Origin
  // or a Content-Type that a web page sends (server/browser-guard).
  const refusals =
    spec.refusals ??
    (changes
      ? [
          "BadRequest",
          "Forbidden",
          "Conflict",
          ...(body ? ["TooLarge"] : []),
          "UnsupportedMediaType",
          "StoreUnavailable",
        ]
      : ["HostNotAllowed"]);
  const responses: Record<string, Schema> = { ...spec.responses };
  for (const name of [...refusals, "Unauthorized", "ServerError"])
    responses[statusOf(name)] = response(name);
  return {
    operationId: id,
    summary,
    ...(tags && { tags }),
    ...(parameters.length > 0 && { parameters: parameters.map(parameter) }),
    ...(body && { requestBody: { required: true, content: body } }),
    responses,
  };
}

function resourcePaths(): Record<string, Record<string, Operation>> {
  const paths: Record<string, Record<string, Operation>> = {};
  for (const { schema, section, kind } of resourceKinds) {
    const tags = [section];
    const parameters = ["Name"];
    const created = ok(`The ${kind}, created.`, ref(schema), ["ETag", "Location"]);
    const current = ok(`The ${kind} as it now is.`, ref(schema), ["ETag"]);
    const missing = response("NotFound");
    const list = ok(`Every ${kind}, secrets redacted.`, ref(`${schema}List`), ["ETag"]);
    const patch = { type: "object", description: "RFC 7396: `null` removes a field." };
    paths[`/${section}`] = {
      get: operation({
        id: `list${schema}s`,
        summary: `Every ${kind}`,
        tags,
        responses: { 200: list },
      }),
      post: operation({
        id: `create${schema}`,
        summary: `Create a ${kind}`,
        tags,
        body: json(ref(schema)),
        responses: { 201: created },
        changes: true,
      }),
    };
    paths[`/${section}/{name}`] = {
      get: operation({
        id: `get${schema}`,
        summary: `One ${kind}`,
        tags,
        parameters,
        responses: { 200: current, 404: missing },
      }),
      put: operation({
        id: `replace${schema}`,
        summary: `Replace a ${kind}, or create it under that name`,
        tags,
        parameters,
        body: json(ref(`${schema}Replacement`)),
        responses: { 200: current, 201: created },
        changes: true,
      }),
      patch: operation({
        id: `patch${schema}`,
        summary: `Change part of a ${kind} (a JSON merge patch)`,
        tags,
        parameters,
        body: { ...json(patch), "application/merge-patch+json": { schema: patch } },
        responses: { 200: current, 404: missing },
        changes: true,
      }),
      delete: operation({
        id: `delete${schema}`,
        summary: `Delete a ${kind}`,
        tags,
        parameters,
        responses: { 204: ok("Deleted.", undefined, ["ETag"]), 404: missing },
        changes: true,
      }),
    };
  }
  return paths;
}

function configPaths(): Record<string, Record<string, Operation>> {
  const tags = ["config"];
  const replacement = { schema: ref("ConfigReplacement") };
  const gone = response("VersionNotFound");
  const changed = (what: string) => ok(what, ref("ChangeResult"), ["ETag"]);
  const get = (spec: Omit<OperationSpec, "tags">) => ({ get: operation({ ...spec, tags }) });
  return {
    "/config": {
      ...get({
        id: "getConfig",
        summary:
          "The config as written, secrets redacted (YAML with `?format=yaml` or `Accept: application/yaml`)",
        parameters: ["Format"],
        responses: {
          200: {
            ...ok("The config.", undefined, ["ETag"]),
            content: { ...json(ref("Config")), "application/yaml": { schema: ref("Config") } },
          },
        },
      }),
      put: operation({
        id: "replaceConfig",
        summary: "Replace every service, route, consumer and global plugin at once",
        tags,
        body: { "application/json": replacement, "application/yaml": replacement },
        responses: { 200: changed("The version now serving.") },
        changes: true,
      }),
    },
    "/config/versions": get({
      id: "listConfigVersions",
      summary: "The kept versions, newest first",
      responses: { 200: ok("The versions.", ref("VersionList"), ["ETag"]) },
    }),
    "/config/versions/{version}": get({
      id: "getConfigVersion",
      summary: "One kept version with its config, secrets redacted",
      parameters: ["Version"],
      responses: { 200: ok("The version.", ref("VersionDetail")), 404: gone },
    }),
    "/config/versions/{version}/diff": get({
      id: "diffConfigVersions",
      summary: "What changes going from `against` (default: the current version) to `version`",
      parameters: ["Version", "Against"],
      responses: { 200: ok("The diff.", ref("ConfigDiff")), 404: gone },
    }),
    "/config/rollback/{version}": {
      post: operation({
        id: "rollbackConfig",
        summary:
          "Serve a kept version's services, routes, consumers and plugins again, as a new version",
        tags,
        parameters: ["Version"],
        responses: { 200: changed("The new version."), 404: gone },
        changes: true,
      }),
    },
  };
}

function runtimePaths(): Record<string, Record<string, Operation>> {
  const tags = ["runtime"];
  const one = (kind: "Route" | "Service") => ({
    get: operation({
      id: `getRuntime${kind}`,
      summary: `How one ${kind.toLowerCase()} stands now`,
      tags,
      parameters: ["Name"],
      responses: { 200: ok("It.", ref(`Runtime${kind}`), ["ETag"]), 404: response("NotFound") },
    }),
  });
  const view = ok("The runtime view.", ref("Runtime"), ["ETag"]);
  return {
    "/runtime": {
      get: operation({
        id: "getRuntime",
        summary:
          "Every route and service as it stands now: serving or not and why, live target health",
        tags,
        responses: { 200: view },
      }),
    },
    "/runtime/routes/{name}": one("Route"),
    "/runtime/services/{name}": one("Service"),
  };
}

function build(): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "Gatehouse admin API",
      version: "1",
      description:
        "Change and inspect a running Gatehouse gateway (see docs/admin-api.md), and register service instances with its registry (the `registry` paths, served here or on `gateway.registry.listen`; see docs/registry.md). A path that does not exist answers 404 and a method a path does not have 405 (`components.responses.MethodNotAllowed`); `HEAD` is answered wherever `GET` is. A CORS preflight (`OPTIONS`) is answered 204 for an origin in `gateway.admin.allowedOrigins`, 403 for any other (see docs/admin-api.md, Browser safety).",
    },
    tags: [
      "services",
      "routes",
      "consumers",
      "plugins",
      "config",
      "runtime",
      "audit",
      "stats",
      "cache",
      "registry",
    ].map((name) => ({ name })),
    security: [{ bearer: [] }, { adminKey: [] }, { registryKey: [] }, {}],
    paths: {
      ...resourcePaths(),
      ...configPaths(),
      ...runtimePaths(),
      ...dashboardPaths(
        (spec: DashboardOperationSpec) => operation(spec),
        (description, schema) => ok(description, schema),
      ),
      ...registryPaths(
        (spec: RegistryOperationSpec) => operation(spec),
        (description, schema) => ok(description, schema),
        response,
      ),
      "/cache": {
        delete: operation({
          id: "purgeCache",
          summary:
            "Remove the cache plugin's stored responses of a URL, a URL prefix or a tag (give exactly one)",
          tags: ["cache"],
          parameters: ["CacheUrl", "CachePrefix", "CacheTag"],
          responses: { 200: ok("What was removed.", ref("CachePurge")) },
          refusals: ["BadRequest", "Forbidden"],
        }),
      },
      "/openapi.json": {
        get: operation({
          id: "getOpenApi",
          summary: "This document",
          responses: {
            200: ok("The OpenAPI document.", { type: "object", required: ["openapi"] }),
          },
        }),
      },
    },
    components: components(),
  };
}

let document: Record<string, unknown> | undefined;

/** The admin API's OpenAPI document, built on first use. */
export function openApiDocument(): Record<string, unknown> {
  document ??= build();
  return document;
}
