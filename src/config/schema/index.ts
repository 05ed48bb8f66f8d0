/**
 * @module config/schema
 * The single source of truth for the config file: TypeScript types, validation, the
 * JSON Schema (`gatehouse schema`) and docs/config.md are all derived from this file.
 */
import { z } from "zod";
import { passwordProblem } from "../../plugins/basic-auth/password-hash.ts";
import { type PathPattern, parsePathPattern } from "../../router/path-pattern.ts";
import { compileRewrite } from "../../router/rewrite.ts";
import { adminSchema, auditSchema, configStoreSchema } from "./control-plane.ts";
import {
  allowedHosts,
  cidr,
  duration,
  httpUrl,
  optionalDuration,
  pathPattern,
  port,
  size,
} from "./fields.ts";
import { customMethodsSchema, httpMethod } from "./http-methods.ts";
import { redisStoreSchema } from "./redis-store.ts";

import {
  circuitBreakerSchema,
  connectionLimitsSchema,
  discoverySchema,
  healthCheckSchema,
  loadBalancerSchema,
  retriesSchema,
} from "./upstream.ts";

export { unitKeyword } from "./fields.ts";

const listenerSchema = z
  .strictObject({
    host: z.string().default("0.0.0.0").describe("Address to bind."),
    port: port.describe("TCP port to bind; 0 picks a free one."),
  })
  .describe("A listener: where clients connect.");

const limitsSchema = z
  .strictObject({
    maxHeaderSize: size("16kb").describe(
      "Largest request line plus headers, in bytes; larger gets 431.",
    ),
    maxHeaderCount: z
      .number()
      .int()
      .min(1)
      .default(100)
      .describe("Most request headers; more gets 431."),
    maxUriLength: z
      .number()
      .int()
      .min(1)
      .default(8192)
      .describe("Longest request target; longer gets 414."),
    maxBodySize: size("10mb").describe("Largest request body; larger gets 413. 0 means no limit."),
    requestHeadersTimeout: duration("30s").describe(
      "Time a client has to send the request line and headers, from its first byte (or from connecting); past it, 408 and the connection is closed. Enforced to within a second (a tenth of the shortest of the three request timeouts, when that is less).",
    ),
    requestBodyIdleTimeout: duration("30s").describe(
      "Longest pause while a client sends a request body; past it, 408 and the connection is closed (a try already sent upstream is aborted). Time the gateway itself does not read, because the upstream takes the body slower than the client sends it, does not count. 0s means no limit.",
    ),
    requestBodyTimeout: duration("5m").describe(
      "Time a client has to send a whole request body, from the end of its headers; past it, 408 and the connection is closed (a try already sent upstream is aborted). Bounds a body that keeps trickling under `requestBodyIdleTimeout`; raise it with `maxBodySize` for large uploads on slow links. 0s means no limit.",
    ),
    maxClientConnections: z
      .union([z.literal("auto"), z.number().int().min(0)], {
        error: "expected auto, 0 (no limit) or a whole number of connections",
      })
      .default("auto")
      .describe(
        "Most client connections the proxy listeners hold open at once, counted per node (every listener and worker thread together); one more is answered 503 `GATEHOUSE_CONNECTION_LIMITED` and closed. `auto` derives it from the process's open-file limit, leaving room for upstream connections, files and the status and admin listeners, which never count (see docs/architecture.md). 0 means no limit.",
      ),
    keepAliveTimeout: duration("65s").describe(
      "How long an idle client keep-alive connection is kept.",
    ),
  })
  .prefault({})
  .describe("Limits that protect the listeners.");

const pathsSchema = z
  .strictObject({
    encodedSlashes: z
      .enum(["reject", "decode", "keep"])
      .default("reject")
      .describe(
        "What to do with `%2F` and `%5C` (and a raw `\\`) in a path: `reject` answers 400, `decode` turns them into `/` before routing, `keep` routes and forwards them encoded.",
      ),
    mergeSlashes: z.boolean().default(false).describe("Collapse `//` into `/` before routing."),
  })
  .prefault({})
  .describe("How request paths are normalised before routing.");

const timeoutText = {
  connect: "Time to open a connection to a target.",
  response: "Time from sending the request to the response headers.",
  idle: "Longest pause between two chunks of the response body.",
  total: "Whole-request deadline; 0s means none.",
};

const timeoutsSchema = z
  .strictObject({
    connect: duration("5s").describe(timeoutText.connect),
    response: duration("60s").describe(timeoutText.response),
    idle: duration("60s").describe(timeoutText.idle),
    total: duration("0s").describe(timeoutText.total),
  })
  .prefault({})
  .describe("Upstream timeouts; a request past one gets 504 (or its connection closed mid-body).");

/** A service's own timeouts: any left out are taken from `gateway.timeouts`. */
const serviceTimeoutsSchema = z.strictObject({
  connect: optionalDuration.describe(timeoutText.connect),
  response: optionalDuration.describe(timeoutText.response),
  idle: optionalDuration.describe(timeoutText.idle),
  total: optionalDuration.describe(timeoutText.total),
});

/** The fields an access-log line may have, in the order they are written. */
export const accessLogFields = [
  "time",
  "requestId",
  "clientIp",
  "method",
  "host",
  "path",
  "query",
  "route",
  "service",
  "target",
  "status",
  "bytesIn",
  "bytesOut",
  "durationMs",
  "upstreamMs",
  "gatewayMs",
  "retries",
  "consumer",
  "errorCode",
  "userAgent",
  "traceId",
] as const;

const accessLogSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Write a line per request."),
    destination: z
      .string()
      .min(1)
      .default("stdout")
      .describe("`stdout`, `stderr`, or a file path (relative to the working directory)."),
    fields: z
      .array(z.enum(accessLogFields))
      .min(1)
      .default([...accessLogFields].filter((field) => field !== "query"))
      .describe(
        "The fields of each line. `query` is left out by default: query strings often carry secrets.",
      ),
    sampleRatio: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe("Share of successful requests (status below 400) logged; 1 logs every one."),
    bufferSize: size("64mb").describe(
      "Lines waiting for a slow disk are kept up to this much; past it new lines are dropped and counted, never waited for.",
    ),
  })
  .prefault({})
  .describe("One JSON line per finished request, written off the request path.");

/** Propagation formats tracing reads from clients and writes to upstreams. */
export const tracePropagators = ["tracecontext", "b3", "b3multi"] as const;

const tracingSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe("Start a server span per request and a client span per upstream try."),
    endpoint: z
      .string()
      .refine((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), {
        message: "expected an http(s) URL, e.g. http://otel-collector:4318/v1/traces",
      })
      .default("http://127.0.0.1:4318/v1/traces")
      .describe("The OTLP/HTTP traces endpoint spans are exported to (JSON encoding)."),
    headers: z
      .record(z.string(), z.string())
      .default({})
      .describe("Headers sent with every export, e.g. the collector's API key."),
    serviceName: z
      .string()
      .min(1)
      .default("gatehouse")
      .describe("The `service.name` resource attribute of every span."),
    resourceAttributes: z
      .record(z.string(), z.string())
      .default({})
      .describe("More resource attributes, e.g. `deployment.environment.name`."),
    sampleRatio: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe("Share of new traces recorded (by trace id, so every node agrees)."),
    parentBased: z
      .boolean()
      .default(true)
      .describe(
        "Follow the caller's sampling decision when its trace context says one; the ratio applies only to traces that start here.",
      ),
    propagation: z
      .array(z.enum(tracePropagators))
      .min(1)
      .default(["tracecontext"])
      .describe(
        "Formats read from requests and written upstream: W3C `tracecontext` (`traceparent`/`tracestate`), `b3` (one `b3` header) or `b3multi` (`X-B3-*`).",
      ),
    exportDelay: duration("1s").describe("Finished spans are sent in batches at least this often."),
    exportTimeout: duration("10s").describe("How long one export may take before it is dropped."),
    maxQueueSize: z
      .number()
      .int()
      .positive()
      .default(8192)
      .describe(
        "Finished spans waiting for export; past it new spans are dropped, never waited for.",
      ),
    maxBatchSize: z.number().int().positive().default(512).describe("Spans in one export request."),
  })
  .prefault({})
  .describe("OpenTelemetry tracing (see docs/observability.md).");

const gatewaySchema = z
  .strictObject({
    listen: z.array(listenerSchema).min(1).describe("The proxy listeners."),
    status: z
      .strictObject({
        host: z.string().default("127.0.0.1").describe("Address to bind."),
        port: port.describe("TCP port to bind; 0 picks a free one."),
        requiredServices: z
          .array(z.string().min(1))
          .default([])
          .describe(
            "Services that must each have a healthy, available target for `GET /ready` to answer 200.",
          ),
        allowedHosts: allowedHosts.describe(
          "Host names the status listener answers to besides loopback names (`localhost`, `*.localhost`) and IP literals (probes and scrapers by pod IP): `gatehouse.internal`, or `*.example.com` for every subdomain. Any other `Host` is refused (403), so a web page cannot read it through DNS rebinding.",
        ),
        showMetadata: z
          .boolean()
          .default(false)
          .describe(
            "Show each target's `metadata` at `GET /upstreams`. Off by default: the status listener asks for no key, and metadata may hold more than it should.",
          ),
      })
      .optional()
      .describe(
        "The status listener: `GET /health` (liveness), `GET /ready` (readiness), `GET /status` (version, config, counts, upstream summary), `GET /upstreams` and `GET /metrics` (see docs/observability.md).",
      ),
    admin: adminSchema,
    workers: z
      .union([z.literal("auto"), z.number().int().min(1).max(256)])
      .default(1)
      .describe(
        "Worker threads serving the proxy listeners: `auto` is one per core (`os.availableParallelism()`). They share the listening ports (`reusePort`); limits, health and breakers are kept once per node (see docs/architecture.md).",
      ),
    configStore: configStoreSchema,
    audit: auditSchema,
    customMethods: customMethodsSchema,
    trustedProxies: z
      .array(cidr)
      .default([])
      .describe(
        "Peers whose `X-Forwarded-For` is believed when finding the client IP. Anything else is the client.",
      ),
    limits: limitsSchema,
    paths: pathsSchema,
    timeouts: timeoutsSchema.describe("Default upstream timeouts for every service."),
    shutdownTimeout: duration("30s").describe(
      "On SIGTERM/SIGINT, how long in-flight requests may take to finish.",
    ),
    reload: z
      .strictObject({
        watch: z
          .boolean()
          .default(true)
          .describe(
            "Watch the config file (in-place writes, atomic renames, Kubernetes ConfigMap symlink swaps) and apply it when it changes. SIGHUP reloads either way.",
          ),
        debounce: duration("250ms").describe(
          "How long the file must stay quiet after a change before it is read: a burst of writes makes one reload.",
        ),
        webSocketGrace: duration("30s").describe(
          "How long an open WebSocket tunnel whose route a reload removed (or pointed at another service, or closed to upgrades) stays open before the gateway closes it with 1001 (Going Away). Tunnels on routes that stay are never touched.",
        ),
      })
      .prefault({})
      .describe(
        "Hot reload from the config file: the dynamic part (services, routes, consumers, plugins) is applied without a restart (see docs/control-plane.md).",
      ),
    log: z
      .strictObject({
        level: z
          .enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"])
          .default("info")
          .describe("The least severe level written; `silent` writes nothing."),
        destination: z
          .string()
          .min(1)
          .default("stdout")
          .describe("`stdout`, `stderr`, or a file path (relative to the working directory)."),
      })
      .prefault({})
      .describe(
        "The process log: JSON lines about the gateway itself (start, reloads, draining, plugin and upstream trouble).",
      ),
    accessLog: accessLogSchema,
    metrics: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe("Count requests and serve `GET /metrics` on the status listener."),
      })
      .prefault({})
      .describe("Prometheus metrics (see docs/observability.md)."),
    tracing: tracingSchema,
    stores: z
      .strictObject({
        redis: redisStoreSchema
          .optional()
          .describe(
            "The shared Redis, used by plugins whose `store` is `redis`: one server (`url`), a Sentinel-watched master (`sentinels` + `name`) or a Redis Cluster (`cluster`), exactly one of them.",
          ),
      })
      .prefault({})
      .describe("Shared state stores, declared once for every plugin that uses them."),
    pluginModules: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "Third-party plugins: a path relative to this file, or an npm package name; each module default-exports a plugin or an array of plugins.",
      ),
  })
  .describe("Static settings: a change needs a restart.");

const targetSchema = z
  .strictObject({
    url: httpUrl,
    weight: z.number().int().min(1).default(1).describe("Relative share of traffic."),
    zone: z
      .string()
      .min(1)
      .optional()
      .describe("Where the target runs, e.g. an availability zone."),
    metadata: z.record(z.string(), z.string()).default({}).describe("Free-form labels."),
  })
  .describe("One upstream instance.");

const serviceSchema = z
  .strictObject({
    name: z.string().min(1).describe("Unique service name that routes refer to."),
    targets: z
      .array(targetSchema)
      .min(1)
      .optional()
      .describe("The instances behind the service (or give `discovery`)."),
    discovery: discoverySchema.optional(),
    loadBalancer: loadBalancerSchema,
    healthCheck: healthCheckSchema.prefault({}),
    circuitBreaker: circuitBreakerSchema.optional(),
    retries: retriesSchema.prefault({}),
    limits: connectionLimitsSchema,
    plugins: z
      .array(z.lazy(() => pluginSchema))
      .default([])
      .describe("Plugins for every route of this service; a route's plugin of the same name wins."),
    timeouts: serviceTimeoutsSchema
      .optional()
      .describe(
        "This service's timeouts; each one left out is taken from `gateway.timeouts`, which has the defaults.",
      ),
  })
  .superRefine((service, ctx) => {
    if (!service.targets === !service.discovery) {
      ctx.addIssue({
        code: "custom",
        path: service.targets ? ["discovery"] : ["targets"],
        message: service.targets
          ? "give targets or discovery, not both"
          : "required: the service's targets, or a discovery source",
      });
    }
    const dns = service.discovery?.dns;
    if (dns && dns.type !== "SRV" && dns.port === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["discovery", "dns", "port"],
        message: `required for ${dns.type} records (SRV records carry their own port)`,
      });
    }
    if (dns?.type === "SRV" && dns.port !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["discovery", "dns", "port"],
        message: "SRV records carry their own port: leave port out",
      });
    }
    if (service.loadBalancer.hashOn && service.loadBalancer.algorithm !== "consistent-hash") {
      ctx.addIssue({
        code: "custom",
        path: ["loadBalancer", "hashOn"],
        message: "hashOn is only used by algorithm: consistent-hash",
      });
    }
  })
  .describe("A named upstream: a set of targets and how to reach them.");

const regex = z
  .string()
  .superRefine((source, ctx) => {
    try {
      new RegExp(source);
    } catch (error) {
      const reason = (error as Error).message.replace(/^Invalid regular expression: /, "");
      ctx.addIssue({ code: "custom", message: `not a valid regular expression: ${reason}` });
    }
  })
  .describe("A JavaScript regular expression.");

const stringMatcher = z
  .union([z.string().describe("Exact value."), z.strictObject({ regex })])
  .describe("An exact string, or `{ regex }`.");

const routeSchema = z
  .strictObject({
    name: z.string().min(1).describe("Unique route name."),
    match: z
      .strictObject({
        hosts: z
          .array(z.string().min(1))
          .optional()
          .describe("Host names, exact or `*.example.com`; omitted means any host."),
        paths: z
          .array(pathPattern)
          .min(1)
          .describe("Paths: exact `/a/b`, with parameters `/users/:id`, or a trailing `*`."),
        methods: z
          .array(httpMethod)
          .optional()
          .describe(
            "Allowed methods; omitted means any. Standard methods, or those in `gateway.customMethods`.",
          ),
        headers: z
          .record(z.string(), stringMatcher)
          .optional()
          .describe("Headers that must match."),
        query: z
          .record(z.string(), stringMatcher)
          .optional()
          .describe("Query arguments that must match."),
      })
      .describe("What requests this route takes."),
    service: z.string().describe("The service that serves this route."),
    priority: z
      .number()
      .int()
      .default(0)
      .describe("Higher wins; among equals the most specific match wins."),
    stripPrefix: z
      .string()
      .regex(/^\/.*[^/]$|^\/$/, "expected a path prefix starting with / and not ending in /")
      .optional()
      .describe("A prefix removed from the path before forwarding."),
    rewrite: z
      .string()
      .regex(/^\//, "expected a path starting with /")
      .optional()
      .describe(
        "The forwarded path, built from the route's parameters: `/v2/users/:id`, `/files/*`.",
      ),
    preserveHost: z
      .boolean()
      .default(false)
      .describe("Forward the client's Host instead of the target's."),
    websocket: z.boolean().default(true).describe("Allow WebSocket upgrades on this route."),
    plugins: z
      .array(z.lazy(() => pluginSchema))
      .default([])
      .describe(
        "Plugins for this route. A plugin named here replaces the service's or global one of the same name.",
      ),
  })
  .superRefine((route, ctx) => {
    // A bad path is already reported where it is written; the rewrite needs good ones.
    let patterns: PathPattern[];
    try {
      patterns = route.match.paths.map(parsePathPattern);
    } catch {
      return;
    }
    try {
      compileRewrite(route, patterns);
    } catch (error) {
      ctx.addIssue({ code: "custom", path: ["rewrite"], message: (error as Error).message });
    }
  })
  .describe("Which requests go to which service, and how the path is changed on the way.");

/** A plugin entry; its `config` is judged by the named plugin's own schema (runtime/plugin-checks). */
export const pluginSchema = z
  .strictObject({
    name: z
      .string()
      .describe("Plugin name: a built-in plugin, or one from `gateway.pluginModules`."),
    config: z
      .record(z.string(), z.unknown())
      .default({})
      .describe(
        "The plugin's own settings; a built-in plugin's are listed under Plugin settings in docs/config.md.",
      ),
  })
  .describe("A plugin and its settings.");

const consumerSchema = z
  .strictObject({
    name: z.string().min(1).describe("Unique consumer name."),
    groups: z.array(z.string()).default([]).describe("Groups the consumer belongs to."),
    metadata: z
      .record(z.string(), z.string())
      .default({})
      .describe("Free-form string labels, e.g. a team or plan."),
    credentials: z
      .strictObject({
        keys: z
          .array(z.string().min(8, "an API key must be at least 8 characters"))
          .default([])
          .describe(
            "API keys for key-auth: `sha256:<64 hex digits>` (the SHA-256 of the key, recommended) or the key itself.",
          ),
        basic: z
          .array(
            z.strictObject({
              username: z.string().min(1).describe("The user name sent in `Authorization: Basic`."),
              password: z
                .string()
                .min(1)
                // A hash that cannot be used fails here, located, rather than never matching.
                .superRefine((value, ctx) => {
                  const problem = passwordProblem(value);
                  if (problem) ctx.addIssue({ code: "custom", message: problem });
                })
                .describe(
                  "A password hash: `$scrypt$…` or bcrypt `$2b$…` (`gatehouse hash-password` makes one), or the password itself (warned at load).",
                ),
            }),
          )
          .default([])
          .describe("User names and password hashes for basic-auth."),
      })
      .prefault({})
      .describe("How the consumer proves who it is."),
    plugins: z
      .array(pluginSchema)
      .default([])
      .describe(
        "Plugins that apply when this consumer is the one authenticated, replacing route, service or global ones of the same name (a higher rate limit, say). Authentication plugins cannot be set here: they run before the consumer is known.",
      ),
  })
  .describe("A client of the APIs.");

/** The whole config file. */
export const configSchema = z
  .strictObject({
    gateway: gatewaySchema,
    // prefault, not default: zod leaves a default out of the JSON Schema when the items transform.
    services: z.array(serviceSchema).prefault([]).describe("The upstream services."),
    routes: z.array(routeSchema).default([]).describe("The routes, matched against each request."),
    consumers: z.array(consumerSchema).default([]).describe("The known API clients."),
    plugins: z.array(pluginSchema).default([]).describe("Global plugins."),
  })
  .describe("A Gatehouse config file.")
  .transform((config) => ({
    ...config,
    services: config.services.map((service) => ({
      ...service,
      timeouts: { ...config.gateway.timeouts, ...withoutUnset(service.timeouts) },
    })),
  }));

/** The keys that were given a value (zod may keep an optional key as undefined). */
function withoutUnset<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(
    Object.entries(value ?? {}).filter(([, entry]) => entry !== undefined),
  ) as Partial<T>;
}

/** A validated config, with defaults filled in and units converted (ms, bytes). */
export type GatehouseConfig = z.output<typeof configSchema>;
/** The config as written in a file. */
export type GatehouseConfigInput = z.input<typeof configSchema>;
export type ServiceConfig = GatehouseConfig["services"][number];
export type RouteConfig = GatehouseConfig["routes"][number];
export type PluginConfig = z.output<typeof pluginSchema>;
export type ConsumerConfig = z.output<typeof consumerSchema>;
export type StoresConfig = GatehouseConfig["gateway"]["stores"];
export type TimeoutsConfig = z.output<typeof timeoutsSchema>;
export type StringMatcherConfig = z.output<typeof stringMatcher>;
