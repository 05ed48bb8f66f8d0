/**
 * @module admin/openapi-dashboard
 * The part of the admin API's OpenAPI document a dashboard or a config editor reads: the
 * paths of the config's JSON Schema, the dry run, the audit trail and the request stats
 * (and their stream), with the schemas and query parameters they have.
 */
import { object, ref, type Schema } from "./openapi-schemas.ts";

/** The parts of an operation these paths give (see openapi.ts). */
export interface DashboardOperationSpec {
  id: string;
  summary: string;
  tags: string[];
  parameters?: string[];
  body?: Record<string, { schema: Schema }>;
  responses: Record<string, Schema>;
  refusals: string[];
}

const count = { type: "integer", minimum: 0 };
const isoTime = { type: "string", format: "date-time" };
const milliseconds = {
  type: ["number", "null"],
  minimum: 0,
  description:
    "Estimated from a histogram with bounds 1, 2.5, 5, 10, 25 … 10000 ms; null without requests.",
};
const figures = {
  requests: count,
  errors: {
    ...count,
    description: "Answers with a 5xx status, the upstream's or the gateway's own.",
  },
  rateLimited: { ...count, description: "Refused by rate-limit or concurrency-limit (429)." },
  authRefused: {
    ...count,
    description: "Refused by an authentication or authorization plugin (401, 403).",
  },
  p50Ms: milliseconds,
  p99Ms: milliseconds,
};

/** `components.schemas` of these paths; `base` holds the document's other schemas. */
export function dashboardSchemas(base: Record<string, Schema>): Record<string, Schema> {
  const diff = base.ConfigDiff as { properties: Schema; required: string[] };
  const { to: _, ...diffProperties } = diff.properties;
  const bucket = object({ start: isoTime, ...figures });
  return {
    Caller: object({
      actor: { type: "string", description: "The key's id, or `anonymous-loopback`." },
      readOnly: { type: "boolean" },
    }),
    ValidationProblem: object({
      path: { type: "string", description: "`routes[0].service`; empty for a syntax error." },
      message: { type: "string" },
      line: { type: "integer", minimum: 1, description: "In the body as sent." },
      column: { type: "integer", minimum: 1 },
    }),
    ConfigDryRunDiff: {
      ...diff,
      properties: diffProperties,
      required: diff.required.filter((name) => name !== "to"),
      description: "What would change going from the version serving (`from`) to the config sent.",
    },
    ValidationResult: object({
      valid: { type: "boolean" },
      problems: { type: "array", items: ref("ValidationProblem") },
      diff: {
        anyOf: [ref("ConfigDryRunDiff"), { type: "null" }],
        description: "null when the body does not parse.",
      },
    }),
    AuditRecord: object(
      {
        time: isoTime,
        action: { type: "string", description: "`config.reload`, `route.create`, …" },
        result: { type: "string", enum: ["accepted", "rejected", "unchanged"] },
        source: { type: "string", enum: ["start", "file", "admin", "etcd"] },
        actor: { type: "string" },
        remoteAddress: { type: "string" },
        requestId: { type: "string" },
        version: { type: "integer" },
        previousVersion: { type: "integer" },
        hash: { type: "string" },
        resources: {
          type: "array",
          items: object({
            kind: { type: "string", enum: ["service", "route", "consumer", "plugin"] },
            name: { type: "string" },
            change: { type: "string", enum: ["created", "updated", "deleted"] },
          }),
        },
        problems: { type: "array", items: { type: "string" } },
        status: { type: "integer" },
      },
      [
        "remoteAddress",
        "requestId",
        "version",
        "previousVersion",
        "hash",
        "resources",
        "problems",
        "status",
      ],
    ),
    AuditList: object({
      entries: { type: "array", items: ref("AuditRecord"), description: "Newest first." },
      matched: { ...count, description: "Records that match the filters, `limit` aside." },
      kept: {
        type: "string",
        enum: ["file", "memory"],
        description: "`file`: `gateway.audit.path`; `memory`: the last 1000 since start.",
      },
    }),
    StatsFigures: object(figures),
    StatsBucket: bucket,
    StatsEntry: object({
      name: { type: "string" },
      ...figures,
      buckets: { type: "array", items: ref("StatsBucket"), description: "Those with requests." },
    }),
    Stats: object({
      generatedAt: isoTime,
      window: object({
        from: isoTime,
        to: isoTime,
        bucketSeconds: { type: "integer", const: 5 },
        buckets: { type: "integer", const: 180 },
      }),
      config: object({
        version: { type: "integer", minimum: 1 },
        hash: { type: "string" },
        appliedAt: { ...isoTime, description: "When it was applied: the last reload." },
      }),
      totals: ref("StatsFigures"),
      buckets: {
        type: "array",
        items: ref("StatsBucket"),
        description: "Every bucket of the window, oldest first.",
      },
      routes: { type: "array", items: ref("StatsEntry") },
      services: { type: "array", items: ref("StatsEntry") },
      upstreams: {
        type: "array",
        items: object({
          service: { type: "string" },
          healthy: { ...count, description: "Targets passing health checks, not ejected." },
          available: { ...count, description: "Targets a load balancer may pick now." },
          total: count,
        }),
      },
    }),
  };
}

/** The audit trail's query parameters, for `components.parameters`. */
export function auditParameters(): Record<string, Schema> {
  const query = (name: string, description: string, schema: Schema = { type: "string" }) => ({
    name,
    in: "query",
    description,
    schema,
  });
  return {
    AuditActor: query("actor", "Only records of this actor (an admin key id, `file-watch`, …)."),
    AuditSource: query("source", "Only records from this source.", {
      type: "string",
      enum: ["start", "file", "admin", "etcd"],
    }),
    AuditOutcome: query("outcome", "Only records that ended so.", {
      type: "string",
      enum: ["accepted", "rejected", "unchanged"],
    }),
    AuditSince: query("since", "Only records at or after this ISO 8601 time.", isoTime),
    AuditUntil: query("until", "Only records at or before this ISO 8601 time.", isoTime),
    AuditLimit: query("limit", "At most this many records (default 100).", {
      type: "integer",
      minimum: 1,
      maximum: 1000,
    }),
  };
}

/** The paths, each operation built by `operation`. */
export function dashboardPaths(
  operation: (spec: DashboardOperationSpec) => Record<string, unknown>,
  ok: (description: string, schema?: Schema) => Schema,
): Record<string, Record<string, unknown>> {
  const read = ["HostNotAllowed"];
  const config = {
    type: "object",
    description:
      "A config as `PUT /config` takes it (`ConfigReplacement`); it may be invalid: the answer says how.",
  };
  return {
    "/caller": {
      get: operation({
        id: "getCaller",
        summary:
          "Who the key sent is: its id and whether it is read-only (the dashboard hides its edit controls then)",
        tags: ["config"],
        responses: { 200: ok("The caller.", ref("Caller")) },
        refusals: read,
      }),
    },
    "/schema": {
      get: operation({
        id: "getConfigSchema",
        summary: "The config's JSON Schema (draft 2020-12), as `gatehouse schema` prints it",
        tags: ["config"],
        responses: { 200: ok("The JSON Schema.", { type: "object" }) },
        refusals: read,
      }),
    },
    "/config/validate": {
      post: operation({
        id: "validateConfig",
        summary:
          "A dry run of a whole config: every problem at its line and column, and the diff against the serving config; nothing applied (read-only keys may call it)",
        tags: ["config"],
        body: { "application/json": { schema: config }, "application/yaml": { schema: config } },
        responses: { 200: ok("What applying it would find.", ref("ValidationResult")) },
        refusals: ["BadRequest", "Forbidden", "TooLarge", "UnsupportedMediaType"],
      }),
    },
    "/audit": {
      get: operation({
        id: "listAudit",
        summary: "The audit trail, newest first, filtered",
        tags: ["audit"],
        parameters: [
          "AuditActor",
          "AuditSource",
          "AuditOutcome",
          "AuditSince",
          "AuditUntil",
          "AuditLimit",
        ],
        responses: { 200: ok("The records.", ref("AuditList")) },
        refusals: ["BadRequest", "HostNotAllowed"],
      }),
    },
    "/stats": {
      get: operation({
        id: "getStats",
        summary:
          "The gateway's requests over the last 15 minutes in 5-second buckets, by route and by service, with upstream availability and the config serving",
        tags: ["stats"],
        responses: { 200: ok("The stats.", ref("Stats")) },
        refusals: read,
      }),
    },
    "/stats/stream": {
      get: operation({
        id: "streamStats",
        summary:
          "The stats again every 2 seconds, as server-sent events (`event: stats`, `data:` a `Stats` body) on one response, until the client goes or the gateway stops (`event: end`)",
        tags: ["stats"],
        responses: {
          200: {
            ...ok("The event stream."),
            content: { "text/event-stream": { schema: { type: "string" } } },
          },
        },
        refusals: read,
      }),
    },
  };
}
