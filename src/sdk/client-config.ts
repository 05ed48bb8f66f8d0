/**
 * @module sdk/client-config
 * A service client's options, turned into the service config the gateway's upstream layer
 * is built from. The options take the same names, units and defaults as a service in the
 * config file (`loadBalancer`, `healthCheck`, `circuitBreaker`, `retries`, `limits`,
 * `timeouts`), validated by the same schema pieces, so a client balances, ejects, breaks
 * and retries exactly as the gateway would with that config. Which instances it takes
 * (`filter`) and the caller's zone (`zone`) are the registry discovery's and the gateway's
 * own settings (`discovery.registry`, `gateway.zone` with `loadBalancer.zoneAware`).
 */
import { z } from "zod";
import { size } from "../config/schema/fields.ts";
import type { ServiceConfig } from "../config/schema/index.ts";
import { registryDiscoverySchema } from "../config/schema/registry.ts";
import { timeoutsSchema } from "../config/schema/timeouts.ts";
import {
  type algorithms,
  circuitBreakerSchema,
  connectionLimitsSchema,
  healthCheckSchema,
  loadBalancerSchema,
  retriesSchema,
} from "../config/schema/upstream.ts";
import { parseDuration } from "../config/units.ts";
import type { RegistryDiscoveryConfig } from "../discovery/registry.ts";
import type { InstanceProtocol } from "../registry/instance.ts";

/** Which instances a client takes: `discovery.registry`'s filters, without the service. */
const filterSchema = registryDiscoverySchema.omit({ service: true }).prefault({});

/** A service client's upstream settings, as written in a config file's service. */
const clientUpstreamSchema = z.strictObject({
  loadBalancer: loadBalancerSchema,
  healthCheck: healthCheckSchema
    .refine((check) => check.active === undefined, {
      message:
        "active checks are the registry's (register with healthCheck); a client only has passive ones",
      path: ["active"],
    })
    .prefault({}),
  circuitBreaker: circuitBreakerSchema.optional(),
  retries: retriesSchema.prefault({}),
  limits: connectionLimitsSchema,
  timeouts: timeoutsSchema,
  maxResponseSize: size("16mb"),
  filter: filterSchema,
  zone: z.string().min(1).optional(),
});

/** What a client's settings come to: the service config, and what only a client has. */
export interface ClientSettings {
  config: ServiceConfig;
  /** Bodies larger than this are refused (`GATEHOUSE_RESPONSE_TOO_LARGE`); 0: no limit. */
  maxResponseSize: number;
  /** The registry service and the filters its instances must pass. */
  filters: RegistryDiscoveryConfig;
  /** The caller's zone (the service prefers instances in it when `zoneAware`). */
  zone: string | undefined;
}

/**
 * Which instances a client calls: those with every tag in `tags`, a `version` in the semver
 * range, in `zone`, and with each `metadata` entry (as `discovery.registry` in the config).
 */
export type InstanceFilter = z.input<typeof filterSchema>;

/** The upstream part of `ServiceClientOptions`, as the options take it. */
export interface ClientUpstreamOptions {
  timeout?: number | string;
  retries?: number | z.input<typeof retriesSchema>;
  loadBalancer?: (typeof algorithms)[number] | z.input<typeof loadBalancerSchema>;
  circuitBreaker?: z.input<typeof circuitBreakerSchema>;
  healthCheck?: Omit<z.input<typeof healthCheckSchema>, "active">;
  limits?: z.input<typeof connectionLimitsSchema>;
  timeouts?: Omit<z.input<typeof timeoutsSchema>, "total">;
  maxResponseSize?: number | string;
  filter?: InstanceFilter;
  zone?: string;
}

/**
 * The service config for a client of `name`; throws a TypeError listing each problem
 * (`retries.attempts: …`) when the options do not validate.
 */
export function clientSettings(
  name: string,
  options: ClientUpstreamOptions,
  protocol: InstanceProtocol = "http",
): ClientSettings {
  const caller = `serviceClient(${JSON.stringify(name)})`;
  const timeouts: Record<string, unknown> = { ...options.timeouts };
  if (options.timeout !== undefined) timeouts.total = durationText(options.timeout, caller);
  const loadBalancer: Record<string, unknown> =
    typeof options.loadBalancer === "string"
      ? { algorithm: options.loadBalancer }
      : { ...options.loadBalancer };
  // A client's zone has no other use: giving it asks for zone-aware picking, unless told not.
  if (options.zone !== undefined) loadBalancer.zoneAware ??= true;
  const parsed = clientUpstreamSchema.safeParse({
    loadBalancer,
    healthCheck: options.healthCheck,
    circuitBreaker: options.circuitBreaker,
    retries: typeof options.retries === "number" ? { attempts: options.retries } : options.retries,
    limits: options.limits,
    timeouts,
    maxResponseSize: options.maxResponseSize,
    filter: options.filter,
    zone: options.zone,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "options"}: ${issue.message}`,
    );
    throw new TypeError(`${caller}: ${problems.join("; ")}`);
  }
  const { maxResponseSize, circuitBreaker, filter, zone, ...upstream } = parsed.data;
  if (upstream.loadBalancer.zoneAware && zone === undefined) {
    throw new TypeError(
      `${caller}: loadBalancer.zoneAware: zone-aware picking needs the caller's zone: pass zone`,
    );
  }
  const config: ServiceConfig = {
    name,
    protocol,
    plugins: [],
    ...upstream,
    ...(circuitBreaker && { circuitBreaker }),
  };
  return { config, maxResponseSize, filters: { service: name, ...filter }, zone };
}

/** A timeout given in milliseconds or as text, as the schema's duration text (`"250ms"`). */
function durationText(value: number | string, caller: string): string {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) {
      throw new TypeError(`${caller}: timeout must be milliseconds or a duration like "5s"`);
    }
    return `${Math.round(value)}ms`;
  }
  if (parseDuration(value) === undefined) {
    throw new TypeError(`${caller}: timeout must be milliseconds or a duration like "5s"`);
  }
  return value;
}
