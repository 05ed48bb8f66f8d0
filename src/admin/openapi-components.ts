/**
 * @module admin/openapi-components
 * The reusable parts of the admin API's OpenAPI document besides its schemas: the error
 * answers (each with the codes it can carry), the headers, the parameters and the two ways
 * to present an admin key; and the small builders the paths are written with.
 */
import { type ErrorCode, errorCatalogue } from "../errors.ts";
import { auditParameters, dashboardSchemas } from "./openapi-dashboard.ts";
import { registrySchemas } from "./openapi-registry.ts";
import { componentSchemas, errorSchema, type Schema } from "./openapi-schemas.ts";

export const json = (schema: Schema) => ({ "application/json": { schema } });
export const header = (name: string) => ({ $ref: `#/components/headers/${name}` });
export const response = (name: string) => ({ $ref: `#/components/responses/${name}` });
export const parameter = (name: string) => ({ $ref: `#/components/parameters/${name}` });

/** A success answer: `schema` as JSON (none for 204), with the headers named. */
export function ok(description: string, schema?: Schema, headers: string[] = []): Schema {
  return {
    description,
    headers: Object.fromEntries(["X-Request-Id", ...headers].map((name) => [name, header(name)])),
    ...(schema && { content: json(schema) }),
  };
}

/** The error answers, by the name each has in `components.responses`. */
const errors: Record<string, [description: string, codes: ErrorCode[], headers?: string[]]> = {
  BadRequest: [
    "The body is not JSON (or YAML), not the object expected, nests more than 100 levels deep, `If-Match` is not a version ETag, or the change does not validate (`problems` names each place).",
    ["GATEHOUSE_ADMIN_BAD_REQUEST", "GATEHOUSE_CONFIG_INVALID", "GATEHOUSE_BODY_TOO_DEEP"],
  ],
  Unauthorized: [
    "`gateway.admin.keys` is set and the request has no valid key. On the registry's paths: a registry or admin key is needed and none valid was sent, or, with no keys at all, the client is not on the gateway's machine.",
    ["GATEHOUSE_ADMIN_UNAUTHORIZED"],
    ["WWW-Authenticate"],
  ],
  Forbidden: [
    "A read-only key asked for a change; the change came from a web page whose origin is not allowed (`gateway.admin.allowedOrigins`); or the `Host` does not name the listener (`gateway.admin.allowedHosts`).",
    ["GATEHOUSE_ADMIN_FORBIDDEN", "GATEHOUSE_ORIGIN_NOT_ALLOWED", "GATEHOUSE_HOST_NOT_ALLOWED"],
  ],
  HostNotAllowed: [
    "The `Host` is not a loopback name, an IP literal or one of `gateway.admin.allowedHosts` (a web page reaching the API through DNS rebinding).",
    ["GATEHOUSE_HOST_NOT_ALLOWED"],
  ],
  UnsupportedMediaType: [
    "The change has a body that is not `application/json` (or `…+json`) or YAML, or a type an HTML form sends (`text/plain`, `application/x-www-form-urlencoded`, `multipart/form-data`) even with no body.",
    ["GATEHOUSE_UNSUPPORTED_MEDIA_TYPE"],
  ],
  NotFound: ["No resource of that name.", ["GATEHOUSE_ADMIN_NOT_FOUND"]],
  RegistryInvalid: [
    "The service name or instance id is not 1–128 letters, digits, `.`, `_` or `-`, or the body is not a valid instance (`problems` names each field); nothing is stored.",
    ["GATEHOUSE_REGISTRY_INVALID_INSTANCE", "GATEHOUSE_BODY_TOO_DEEP"],
  ],
  RegistryForbidden: [
    "A read-only key asked for a change; the address is outside `gateway.registry.allowedNetworks`; or a web page's request (its `Origin`, or a `Host` that does not name the listener).",
    [
      "GATEHOUSE_ADMIN_FORBIDDEN",
      "GATEHOUSE_REGISTRY_FORBIDDEN_NETWORK",
      "GATEHOUSE_ORIGIN_NOT_ALLOWED",
      "GATEHOUSE_HOST_NOT_ALLOWED",
    ],
  ],
  RegistryNotFound: [
    "The registry has no instance of that service, or not that instance.",
    ["GATEHOUSE_REGISTRY_NOT_FOUND"],
  ],
  LeaseExpired: [
    "The instance holds no lease (it ran out, the instance was removed, or never registered): register it again.",
    ["GATEHOUSE_REGISTRY_LEASE_EXPIRED"],
  ],
  VersionNotFound: [
    "The version is not kept (older than the last `gateway.configStore.versions`, or never existed).",
    ["GATEHOUSE_CONFIG_VERSION_NOT_FOUND"],
  ],
  MethodNotAllowed: [
    "The path exists but not with this method; `Allow` lists those it has.",
    ["GATEHOUSE_METHOD_NOT_ALLOWED"],
    ["Allow"],
  ],
  Conflict: [
    "`If-Match` names a version no longer current, the name is taken, a PATCH renames, the file changed on disk, or the config is a base file plus an overlay (not writable).",
    ["GATEHOUSE_CONFIG_CONFLICT", "GATEHOUSE_CONFIG_NOT_WRITABLE"],
  ],
  TooLarge: ["The body is larger than `gateway.admin.maxBodySize`.", ["GATEHOUSE_BODY_TOO_LARGE"]],
  StoreUnavailable: [
    "With `gateway.configStore.etcd`: etcd cannot be reached, so the change was not applied; retry when it is back.",
    ["GATEHOUSE_CONFIG_STORE_UNAVAILABLE"],
  ],
  ServerError: [
    "The change could not be written to the config file (nothing applied), or a bug.",
    ["GATEHOUSE_CONFIG_STORE_FAILED", "GATEHOUSE_INTERNAL"],
  ],
};

/** The status of the error answer `name` (its codes' status in the catalogue). */
export const statusOf = (name: string): number => errorCatalogue[errors[name]![1][0]!].status;

/** `components`: schemas, error answers, headers, parameters and security schemes. */
export function components(): Record<string, unknown> {
  const stringHeader = (description: string) => ({ description, schema: { type: "string" } });
  const schemas = componentSchemas();
  return {
    schemas: { ...schemas, ...dashboardSchemas(schemas), ...registrySchemas() },
    responses: Object.fromEntries(
      Object.entries(errors).map(([name, [description, codes, headers]]) => [
        name,
        ok(description, errorSchema(codes), headers),
      ]),
    ),
    headers: {
      "X-Request-Id": stringHeader("The request's id, also in every error body and log line."),
      ETag: stringHeader('The config version serving after the request, as `"7"`.'),
      Location: stringHeader("The path of the resource created."),
      Allow: stringHeader("The methods the path accepts."),
      "WWW-Authenticate": stringHeader('`Bearer realm="gatehouse-admin"`.'),
    },
    parameters: {
      Name: { name: "name", in: "path", required: true, schema: { type: "string" } },
      Version: { name: "version", in: "path", required: true, schema: { type: "integer" } },
      Against: {
        name: "against",
        in: "query",
        description: "The version to compare with; default the current one.",
        schema: { type: "integer" },
      },
      Format: { name: "format", in: "query", schema: { type: "string", enum: ["json", "yaml"] } },
      RegistryService: {
        name: "service",
        in: "path",
        required: true,
        schema: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$" },
      },
      RegistryInstance: {
        name: "id",
        in: "path",
        required: true,
        schema: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$" },
      },
      Watch: {
        name: "watch",
        in: "query",
        description: "`1`: stream the service's changes as server-sent events instead.",
        schema: { type: "string" },
      },
      CacheUrl: {
        name: "url",
        in: "query",
        description:
          "A URL as clients asked for it, `scheme://host/path?query`: its entries (every variant) go.",
        schema: { type: "string" },
      },
      CachePrefix: {
        name: "prefix",
        in: "query",
        description: "Entries whose URL starts with this (`https://shop.example/catalog/`) go.",
        schema: { type: "string" },
      },
      CacheTag: {
        name: "tag",
        in: "query",
        description: "Entries the upstream tagged with this (the `Cache-Tag` header) go.",
        schema: { type: "string" },
      },
      ...auditParameters(),
      IfMatch: {
        name: "If-Match",
        in: "header",
        description:
          'Apply only if this version (an ETag such as `"7"`) is still current; otherwise 409.',
        schema: { type: "string" },
      },
    },
    securitySchemes: {
      bearer: { type: "http", scheme: "bearer", description: "An admin key as a bearer token." },
      adminKey: { type: "apiKey", in: "header", name: "X-Admin-Key" },
      registryKey: {
        type: "apiKey",
        in: "header",
        name: "X-Registry-Key",
        description: "A registry key (`gateway.registry.keys`), on the registry's paths only.",
      },
    },
  };
}
