/**
 * @module config/schema/registry
 * `gateway.registry`, the service registry's static settings: where its HTTP API is served,
 * who may register, where instances are kept, which addresses they may have and how long
 * their leases run; and `services[].discovery.registry`, which instances a service takes.
 */
import semver from "semver";
import { z } from "zod";
import { etcdConnectionSchema } from "./control-plane.ts";
import { cidr, duration, port } from "./fields.ts";

/** What a registry service name and an instance id look like (also in URLs). */
export const registryNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const registryNameHint =
  "expected 1–128 letters, digits, `.`, `_` or `-`, starting with a letter or digit";

const registryKeySchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[\w.@-]{1,64}$/, "expected 1–64 letters, digits, `_`, `.`, `@` or `-`")
      .describe("Who holds the key (for logs)."),
    key: z.string().min(16, "a registry key must be at least 16 characters").describe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the docs show the literal syntax
      "The key, sent as `Authorization: Bearer <key>` or `X-Registry-Key: <key>`: `sha256:<64 hex digits>` (the SHA-256 of the key, recommended) or the key itself, best from `${env:…}` or `${file:…}`.",
    ),
    readOnly: z
      .boolean()
      .default(false)
      .describe("The key may list and watch instances but not register any."),
  })
  .describe("A key that may use the registry API.");

export const registrySchema = z
  .strictObject({
    listen: z
      .strictObject({
        host: z
          .string()
          .default("127.0.0.1")
          .describe(
            "Address to bind. Anything but loopback needs keys (`keys`, or the admin API's).",
          ),
        port: port.describe("TCP port to bind; 0 picks a free one."),
      })
      .optional()
      .describe(
        "A listener of its own for the registry API, for services on other hosts, without exposing the admin API. Left out: the registry API is served on the admin listener (`gateway.admin`).",
      ),
    keys: z
      .array(registryKeySchema)
      .default([])
      .describe(
        "Keys that may use the registry API (admin keys may too). With none here and none for the admin API, only loopback clients can, without a key.",
      ),
    store: z
      .enum(["memory", "etcd"])
      .default("memory")
      .describe(
        "Where instances are kept: `memory` (this node alone), or `etcd` (shared by every gateway node on the same etcd and prefix: each instance a key on a lease of its own; see docs/registry.md). `etcd` uses `etcd` below, or else `gateway.configStore.etcd`'s connection.",
      ),
    etcd: etcdConnectionSchema
      .extend({
        prefix: etcdConnectionSchema.shape.prefix.describe(
          "The registry's instances live under `<prefix>registry/`; gateways with the same prefix share them.",
        ),
      })
      .optional()
      .describe(
        "How the `etcd` store reaches etcd, when not through `gateway.configStore.etcd`'s connection (the same fields).",
      ),
    allowedNetworks: z
      .array(cidr)
      .default([])
      .describe(
        "Networks an instance's address must be in, e.g. `[10.0.0.0/8]`; a host name is then refused (its addresses cannot be checked). Empty: any address.",
      ),
    defaultTtl: duration("10s").describe("The lease of a registration that gives no `ttl`."),
    maxTtl: duration("5m").describe("The longest `ttl` a registration may ask for."),
    removeAfter: duration("1m").describe(
      "An instance whose lease ran out is `down` at once (it takes no traffic) and removed this long after, unless it registers again.",
    ),
  })
  .superRefine((registry, ctx) => {
    if (registry.defaultTtl > registry.maxTtl)
      ctx.addIssue({
        code: "custom",
        path: ["defaultTtl"],
        message: "defaultTtl is longer than maxTtl",
      });
    if (registry.defaultTtl < 1000)
      ctx.addIssue({ code: "custom", path: ["defaultTtl"], message: "at least 1s" });
    const seen = new Set<string>();
    registry.keys.forEach((key, index) => {
      if (seen.has(key.id))
        ctx.addIssue({
          code: "custom",
          path: ["keys", index, "id"],
          message: `duplicate registry key id "${key.id}"`,
        });
      seen.add(key.id);
    });
  })
  .optional()
  .describe(
    "The service registry (see docs/registry.md): services register their instances with TTL leases, and gateway services with `discovery.registry` take them as targets. Off unless set.",
  );

export const registryDiscoverySchema = z
  .strictObject({
    service: z
      .string()
      .regex(registryNamePattern, registryNameHint)
      .describe("The registry service whose instances become this service's targets."),
    tags: z
      .array(z.string().min(1))
      .default([])
      .describe("Only instances that have every one of these tags."),
    version: z
      .string()
      .refine((range) => semver.validRange(range) !== null, {
        message: "expected a semver range, e.g. >=1.4.0 or ^2.0.0",
      })
      .optional()
      .describe(
        "Only instances whose `version` is in this semver range, e.g. `>=1.4.0 <2`; an instance without a version never is.",
      ),
    zone: z.string().min(1).optional().describe("Only instances in this zone."),
    metadata: z
      .record(z.string(), z.string())
      .default({})
      .describe("Only instances whose metadata has each of these keys with this value."),
  })
  .describe(
    "Targets from the gateway's service registry (`gateway.registry`): the instances of a registry service that are up, match these filters and speak the service's `protocol`.",
  );
