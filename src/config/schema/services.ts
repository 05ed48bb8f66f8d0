/**
 * @module config/schema/services
 * `services`: named upstreams, each a set of targets (or a discovery source) with how they
 * are balanced, checked, broken, retried and timed out (those parts in upstream.ts).
 */

import { z } from "zod";
import { httpUrl } from "./fields.ts";
import { pluginSchema } from "./plugins.ts";
import { serviceTimeoutsSchema } from "./timeouts.ts";
import { upstreamTlsSchema } from "./tls.ts";
import {
  circuitBreakerSchema,
  connectionLimitsSchema,
  discoverySchema,
  healthCheckSchema,
  loadBalancerSchema,
  retriesSchema,
} from "./upstream.ts";

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

export const serviceSchema = z
  .strictObject({
    name: z.string().min(1).describe("Unique service name that routes refer to."),
    protocol: z
      .enum(["http", "grpc"])
      .default("http")
      .describe(
        "How the targets are spoken to: `http` (HTTP/1.1), or `grpc` (HTTP/2: h2c for `http://` targets, h2 over TLS with ALPN for `https://`).",
      ),
    tls: upstreamTlsSchema.optional(),
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
      .array(pluginSchema)
      .default([])
      .describe("Plugins for every route of this service; a route's plugin of the same name wins."),
    title: z
      .string()
      .min(1)
      .optional()
      .describe("The service's name in the developer portal (its name when left out)."),
    description: z
      .string()
      .min(1)
      .optional()
      .describe("What the service does, shown in the developer portal (Markdown)."),
    openapi: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The service's own OpenAPI document for the developer portal: a file (YAML or JSON, relative to this file) or an http(s) URL. Its paths are the upstream's; the portal maps them to gateway paths through the published routes.",
      ),
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
