/**
 * @module admin/openapi-schemas
 * The schemas of the admin API's OpenAPI document: services, routes, consumers, plugins and
 * the whole config taken from the config file's own JSON Schema (the admin API reads and
 * writes the config as written), and the shapes only the admin API has (errors, versions,
 * diffs, the runtime view; the registry's are in openapi-registry.ts).
 */
import { configJsonSchema } from "../config/json-schema.ts";
import { redactConfig } from "../config/redact-config.ts";
import { redacted } from "../config/secret-values.ts";
import type { ErrorCode } from "../errors.ts";

export type Schema = Record<string, unknown>;

/** A reference to one of the document's `components.schemas`. */
export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

/** Every error code the admin API answers with. */
export const adminErrorCodes = [
  "GATEHOUSE_ADMIN_BAD_REQUEST",
  "GATEHOUSE_CONFIG_INVALID",
  "GATEHOUSE_ADMIN_UNAUTHORIZED",
  "GATEHOUSE_ADMIN_FORBIDDEN",
  "GATEHOUSE_ADMIN_NOT_FOUND",
  "GATEHOUSE_CONFIG_VERSION_NOT_FOUND",
  "GATEHOUSE_METHOD_NOT_ALLOWED",
  "GATEHOUSE_CONFIG_CONFLICT",
  "GATEHOUSE_CONFIG_NOT_WRITABLE",
  "GATEHOUSE_BODY_TOO_LARGE",
  "GATEHOUSE_INTERNAL",
  "GATEHOUSE_CONFIG_STORE_FAILED",
  "GATEHOUSE_CONFIG_STORE_UNAVAILABLE",
  "GATEHOUSE_HOST_NOT_ALLOWED",
  "GATEHOUSE_ORIGIN_NOT_ALLOWED",
  "GATEHOUSE_UNSUPPORTED_MEDIA_TYPE",
  "GATEHOUSE_BODY_TOO_DEEP",
  "GATEHOUSE_REGISTRY_INVALID_INSTANCE",
  "GATEHOUSE_REGISTRY_FORBIDDEN_NETWORK",
  "GATEHOUSE_REGISTRY_NOT_FOUND",
  "GATEHOUSE_REGISTRY_LEASE_EXPIRED",
] as const satisfies readonly ErrorCode[];

/** The resource kinds, by the name of their schema and the config list that holds them. */
export const resourceKinds = [
  { schema: "Service", section: "services", kind: "service" },
  { schema: "Route", section: "routes", kind: "route" },
  { schema: "Consumer", section: "consumers", kind: "consumer" },
  { schema: "Plugin", section: "plugins", kind: "global plugin" },
] as const;

/** `components.schemas`, built once by the caller. */
export function componentSchemas(): Record<string, Schema> {
  const { $schema: _, title: __, ...config } = allowRedacted(configJsonSchema()) as Schema;
  const properties = config.properties as Record<string, Schema>;
  const schemas: Record<string, Schema> = {};
  for (const { schema, section } of resourceKinds) {
    const item = (properties[section] as { items: Schema }).items;
    schemas[schema] = item;
    // PUT /{section}/{name} takes the name from the path; the body may leave it out.
    schemas[`${schema}Replacement`] = { ...item, required: without(item.required, "name") };
    schemas[`${schema}List`] = object({ data: { type: "array", items: ref(schema) } });
    properties[section] = { ...properties[section], items: ref(schema) };
  }
  return {
    CachePurge: object({
      purged: {
        type: "integer",
        minimum: 0,
        description: "Stored responses removed (from Redis: entries of every route and node).",
      },
      stores: {
        type: "array",
        items: { type: "string", enum: ["memory", "redis"] },
        description:
          "The kinds of cache store the purge reached: `memory` on this node only, `redis` for every node sharing it.",
      },
    }),
    Config: config,
    ConfigReplacement: {
      ...config,
      required: [],
      description:
        "The config to serve. A list left out is emptied; `gateway:` may be left out, and if sent must equal the running one (it is static: a restart applies it).",
    },
    ...schemas,
    Error: errorSchema(adminErrorCodes),
    VersionSummary: versionSummary,
    VersionDetail: {
      ...versionSummary,
      properties: { ...(versionSummary.properties as Schema), config: ref("Config") },
      required: [...(versionSummary.required as string[]), "config"],
    },
    VersionList: object(
      {
        current: { type: "integer", description: "The version serving now." },
        lastRefusal: {
          ...object({
            at: { type: "string", format: "date-time" },
            source: { type: "string", enum: configSources },
            actor: { type: "string" },
            problems: { type: "array", items: { type: "string" }, description: "FILE:LINE:COL …" },
          }),
          description:
            "The config file as last read did not validate; gone once a reload from it succeeds or finds the config serving.",
        },
        versions: { type: "array", items: ref("VersionSummary"), description: "Newest first." },
      },
      ["lastRefusal"],
    ),
    ChangeResult: {
      ...versionSummary,
      required: [...(versionSummary.required as string[]), "result"],
    },
    FieldChange: fieldChange,
    ConfigDiff: object({
      from: { type: "integer" },
      to: { type: "integer" },
      resources: { type: "array", items: resourceChange },
      gateway: {
        type: "array",
        items: ref("FieldChange"),
        description: "Changes to the static `gateway:` section (a restart applies them).",
      },
    }),
    Runtime: object({
      routes: { type: "array", items: ref("RuntimeRoute") },
      services: { type: "array", items: ref("RuntimeService") },
    }),
    RuntimeRoute: runtimeRoute,
    RuntimeService: runtimeService,
    RuntimeTarget: runtimeTarget,
  };
}

/** The error body; `codes` narrows `error.code`. */
export function errorSchema(codes: readonly ErrorCode[]): Schema {
  return object({
    error: object(
      {
        code: { type: "string", enum: [...codes] },
        message: { type: "string" },
        requestId: { type: "string", description: "Also sent as `x-request-id`." },
        problems: {
          type: "array",
          items: { type: "string" },
          description: "Each validation problem, named by its place in the config.",
        },
      },
      ["problems"],
    ),
  });
}

/** An object with exactly `properties`, all required except `optional`. */
/** A closed object: every property required but those in `optional`. */
export function object(properties: Record<string, Schema>, optional: string[] = []): Schema {
  const required = Object.keys(properties).filter((key) => !optional.includes(key));
  return { type: "object", properties, required, additionalProperties: false };
}

function without(list: unknown, name: string): string[] {
  return ((list as string[] | undefined) ?? []).filter((item) => item !== name);
}

const configSources = ["start", "file", "admin", "rollback", "etcd"];

const versionSummary = object(
  {
    version: { type: "integer", minimum: 1 },
    hash: { type: "string", description: "Content hash of the validated config." },
    appliedAt: { type: "string", format: "date-time" },
    source: { type: "string", enum: configSources },
    actor: {
      type: "string",
      description: "An admin key id, `anonymous-loopback`, `file-watch`, `SIGHUP` or `startup`.",
    },
    rolledBackTo: { type: "integer", description: "For a rollback: the version it restored." },
    result: {
      type: "string",
      enum: ["applied", "unchanged"],
      description: "`unchanged`: the config validates to the one serving, no new version.",
    },
  },
  ["rolledBackTo", "result"],
);

const fieldChange = object(
  {
    path: { type: "string", description: "e.g. `targets[0].url`, `plugins[rate-limit].config`." },
    before: { description: "Absent: the field was added." },
    after: { description: "Absent: the field was removed." },
  },
  ["before", "after"],
);

const resourceChange = object({
  kind: { type: "string", enum: ["service", "route", "consumer", "plugin"] },
  name: { type: "string" },
  change: { type: "string", enum: ["created", "updated", "deleted"] },
  fields: { type: "array", items: ref("FieldChange") },
});

const standing = {
  status: { type: "string", enum: ["serving", "unavailable"] },
  errors: { type: "array", items: { type: "string" }, description: "Why it is unavailable." },
};

const runtimeRoute = object(
  {
    name: { type: "string" },
    ...standing,
    service: { type: "string" },
    match: { type: "object", description: "The route's `match`, as validated." },
    websocket: { type: "boolean" },
    plugins: { type: "array", items: { type: "string" } },
    traffic: {
      ...object({
        requests: { type: "integer", minimum: 0 },
        byStatusClass: counts("`2xx`, `4xx`, … → answers."),
        errors: counts("Gateway error code → answers."),
      }),
      description: "The route's answers since start; only when metrics are on.",
    },
  },
  ["match", "traffic"],
);

function counts(description: string): Schema {
  return { type: "object", additionalProperties: { type: "integer", minimum: 0 }, description };
}

const runtimeService = object({
  name: { type: "string" },
  ...standing,
  algorithm: { type: "string" },
  available: { type: "integer", description: "How many targets can be picked now." },
  targets: { type: "array", items: ref("RuntimeTarget") },
});

const runtimeTarget = object(
  {
    url: { type: "string" },
    weight: { type: "number" },
    zone: { type: "string" },
    version: { type: "string", description: "The instance's version (registry targets)." },
    tags: {
      type: "array",
      items: { type: "string" },
      description: "The instance's tags (registry targets that have some).",
    },
    metadata: { type: "object", additionalProperties: { type: "string" } },
    available: { type: "boolean" },
    health: { type: "string" },
    ejected: { type: "boolean" },
    ejectedForMs: { type: "integer", minimum: 0 },
    ejections: { type: "integer", minimum: 0 },
    breaker: { type: "string", enum: ["closed", "open", "half-open", "none"] },
    inFlight: { type: "integer", minimum: 0 },
    latencyMs: { type: "number", description: "Peak-EWMA response time." },
  },
  ["zone", "version", "tags"],
);

/** Whether redactConfig blanks a string under `key`: the one list of credential keys. */
const isCredentialKey = (key: string) =>
  (redactConfig({ [key]: "not-a-secret" }) as Record<string, unknown>)[key] === redacted;

/**
 * The admin API answers with credentials blanked to `[redacted]` (and takes them back so),
 * which a credential's own constraints (an admin key's 16 characters) would refuse.
 */
function allowRedacted(node: unknown, key = ""): unknown {
  if (Array.isArray(node)) return node.map((item) => allowRedacted(item));
  if (node === null || typeof node !== "object") return node;
  const schema = node as Schema;
  const out: Schema = {};
  for (const [name, value] of Object.entries(schema)) {
    if (name === "properties")
      out[name] = Object.fromEntries(
        Object.entries(value as Schema).map(([property, sub]) => [
          property,
          allowRedacted(sub, property),
        ]),
      );
    else out[name] = allowRedacted(value, name === "items" ? key : "");
  }
  const constrained = "minLength" in out || "pattern" in out || "format" in out;
  if (out.type === "string" && constrained && isCredentialKey(key))
    return { anyOf: [out, { const: redacted }] };
  return out;
}
