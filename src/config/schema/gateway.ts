/**
 * @module config/schema/gateway
 * `gateway`, the static part of the config (a change needs a restart): listeners, the status
 * and admin listeners, workers, limits, timeouts, observability, stores and plugin modules.
 */
import { z } from "zod";
import { adminSchema, auditSchema, configStoreSchema, isLoopbackHost } from "./control-plane.ts";
import { allowedHosts, cidr, duration, port } from "./fields.ts";
import { customMethodsSchema } from "./http-methods.ts";
import { limitsSchema, listenerSchema, pathsSchema } from "./listeners.ts";
import { accessLogSchema, logSchema, metricsSchema, tracingSchema } from "./observability.ts";
import { portalSchema } from "./portal.ts";
import { redisStoreSchema } from "./redis-store.ts";
import { registrySchema } from "./registry.ts";
import { timeoutsSchema } from "./timeouts.ts";
import { versioningSchema } from "./traffic.ts";

export const gatewaySchema = z
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
    portal: portalSchema,
    registry: registrySchema,
    zone: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The zone this gateway runs in, e.g. an availability zone: services with `loadBalancer.zoneAware` prefer targets in it.",
      ),
    workers: z
      .union([z.literal("auto"), z.number().int().min(1).max(256)])
      .default(1)
      .describe(
        "Worker threads serving the proxy listeners: `auto` is one per core (`os.availableParallelism()`). They share the listening ports (`reusePort`); limits, health and breakers are kept once per node (see docs/architecture.md).",
      ),
    configStore: configStoreSchema,
    audit: auditSchema,
    customMethods: customMethodsSchema,
    versioning: versioningSchema,
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
    log: logSchema,
    accessLog: accessLogSchema,
    metrics: metricsSchema,
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
  .superRefine((gateway, ctx) => {
    const { registry, admin } = gateway;
    if (!registry) return;
    if (registry.store === "etcd" && !registry.etcd && !gateway.configStore.etcd)
      ctx.addIssue({
        code: "custom",
        path: ["registry", "store"],
        message:
          "the etcd registry store needs an etcd connection: set gateway.registry.etcd, or gateway.configStore.etcd to share the config store's",
      });
    if (!registry.listen && !admin)
      ctx.addIssue({
        code: "custom",
        path: ["registry"],
        message:
          "the registry API is served on the admin listener unless it has its own: set gateway.admin or gateway.registry.listen",
      });
    const keyless = registry.keys.length === 0 && (admin?.keys.length ?? 0) === 0;
    if (registry.listen && keyless && !isLoopbackHost(registry.listen.host))
      ctx.addIssue({
        code: "custom",
        path: ["registry", "keys"],
        message: `the registry API binds ${registry.listen.host}, which is not loopback: give it keys (anyone who can reach it could register instances)`,
      });
  })
  .describe("Static settings: a change needs a restart.");
