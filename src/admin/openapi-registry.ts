/**
 * @module admin/openapi-registry
 * The service registry's part of the admin API's OpenAPI document: its paths (served on
 * the admin listener, or on `gateway.registry.listen` alike) and the JSON shapes they take
 * and answer with: the registration, the lease, an instance, a service and the list.
 */
import { object, ref, type Schema } from "./openapi-schemas.ts";

/** The parts of an operation the registry's paths give (see openapi.ts). */
export interface RegistryOperationSpec {
  id: string;
  summary: string;
  tags: string[];
  parameters?: string[];
  body?: Record<string, { schema: Schema }>;
  responses: Record<string, Schema>;
  /** The error answers besides Unauthorized and ServerError, by `components.responses` name. */
  refusals: string[];
}

const isoTime = { type: "string", format: "date-time" };
const labels = { type: "object", additionalProperties: { type: "string" } };
const duration = { type: "string", description: "A duration such as `10s`." };

/** The registry's `components.schemas`. */
export function registrySchemas(): Record<string, Schema> {
  return {
    RegistryRegistration: object(
      {
        address: { type: "string", description: "IP address or host name." },
        port: { type: "integer", minimum: 1, maximum: 65535 },
        protocol: { type: "string", enum: ["http", "grpc"], default: "http" },
        ttl: { ...duration, description: "The lease; default `gateway.registry.defaultTtl`." },
        version: { type: "string", description: "A semantic version." },
        zone: { type: "string" },
        tags: { type: "array", items: { type: "string" }, maxItems: 64, uniqueItems: true },
        metadata: labels,
        weight: { type: "integer", minimum: 1, maximum: 10_000, default: 1 },
        healthCheck: object({ path: { type: "string" }, interval: duration }, ["interval"]),
      },
      ["protocol", "ttl", "version", "zone", "tags", "metadata", "weight", "healthCheck"],
    ),
    RegistryLease: object({
      service: { type: "string" },
      id: { type: "string" },
      url: { type: "string", description: "Where the gateway reaches the instance." },
      ttl: duration,
      ttlMs: { type: "integer", minimum: 1000 },
      expiresAt: isoTime,
      registeredAt: isoTime,
    }),
    RegistryInstance: object(
      {
        id: { type: "string" },
        url: { type: "string" },
        address: { type: "string" },
        port: { type: "integer" },
        protocol: { type: "string", enum: ["http", "grpc"] },
        weight: { type: "integer" },
        version: { type: "string" },
        zone: { type: "string" },
        tags: { type: "array", items: { type: "string" } },
        metadata: labels,
        healthCheck: object({ path: { type: "string" }, interval: duration }, ["interval"]),
        state: {
          type: "string",
          enum: ["up", "down"],
          description: "`down`: its lease ran out; it takes no traffic.",
        },
        registeredAt: isoTime,
        lastHeartbeat: isoTime,
        expiresAt: isoTime,
      },
      ["version", "zone", "healthCheck"],
    ),
    RegistryService: object({
      service: { type: "string" },
      revision: { type: "integer", minimum: 0, description: "The registry's change counter." },
      instances: { type: "array", items: ref("RegistryInstance") },
    }),
    RegistryServiceList: object({
      services: {
        type: "array",
        items: object({
          name: { type: "string" },
          instances: { type: "integer", minimum: 0 },
          up: { type: "integer", minimum: 0 },
          down: { type: "integer", minimum: 0 },
        }),
      },
    }),
  };
}

/** The registry's paths, each operation built by `operation`. */
export function registryPaths(
  operation: (spec: RegistryOperationSpec) => Record<string, unknown>,
  ok: (description: string, schema?: Schema) => Schema,
  response: (name: string) => Schema,
): Record<string, Record<string, unknown>> {
  const tags = ["registry"];
  const instance = ["RegistryService", "RegistryInstance"];
  const lease = ok("The lease the instance holds now.", ref("RegistryLease"));
  const json = (schema: Schema) => ({ "application/json": { schema } });
  const change = ["RegistryForbidden", "UnsupportedMediaType"];
  return {
    "/registry/services": {
      get: operation({
        id: "listRegistryServices",
        summary: "Every registry service with its instance counts",
        tags,
        responses: { 200: ok("The services.", ref("RegistryServiceList")) },
        refusals: ["HostNotAllowed"],
      }),
    },
    "/registry/services/{service}": {
      get: operation({
        id: "getRegistryService",
        summary:
          "A service's instances; with `?watch=1`, its changes as server-sent events (`snapshot`, then `put`, `down`, `delete`)",
        tags,
        parameters: ["RegistryService", "Watch"],
        responses: {
          200: {
            ...ok("The instances, or the event stream."),
            content: {
              ...json(ref("RegistryService")),
              "text/event-stream": { schema: { type: "string" } },
            },
          },
          404: response("RegistryNotFound"),
        },
        refusals: ["RegistryInvalid", "HostNotAllowed"],
      }),
    },
    "/registry/services/{service}/instances/{id}": {
      put: operation({
        id: "registerInstance",
        summary: "Register an instance, or replace the one with this id",
        tags,
        parameters: instance,
        body: json(ref("RegistryRegistration")),
        responses: { 200: lease, 201: lease },
        refusals: ["RegistryInvalid", "TooLarge", ...change],
      }),
      delete: operation({
        id: "deregisterInstance",
        summary: "Deregister an instance: out of every service at once, its requests finish",
        tags,
        parameters: instance,
        responses: { 204: ok("Deregistered."), 404: response("RegistryNotFound") },
        refusals: change,
      }),
    },
    "/registry/services/{service}/instances/{id}/heartbeat": {
      put: operation({
        id: "renewLease",
        summary: "Renew an instance's lease",
        tags,
        parameters: instance,
        responses: { 200: lease, 404: response("LeaseExpired") },
        refusals: change,
      }),
    },
  };
}
