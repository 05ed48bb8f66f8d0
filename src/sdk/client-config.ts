/**
 * @module sdk/client-config
 * A service client's options, turned into the service config the gateway's upstream layer
 * is built from. The options take the same names, units and defaults as a service in the
 * config file (`loadBalancer`, `healthCheck`, `circuitBreaker`, `retries`, `limits`,
 * `timeouts`), validated by the same schema pieces, so a client balances, ejects, breaks
 * and retries exactly as the gateway would with that config.
 */
import { z } from "zod";
import { size } from "../config/schema/fields.ts";
import type { ServiceConfig } from "../config/schema/index.ts";
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
});

/** What a client's settings come to: the service config, and what only a client has. */
export interface ClientSettings {
  config: ServiceConfig;
  /** Bodies larger than this are refused (`GATEHOUSE_RESPONSE_TOO_LARGE`); 0: no limit. */
  maxResponseSize: number;
}

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
}

/**
 * The service config for a client of `name`; throws a TypeError listing each problem
 * (`retries.attempts: …`) when the options do not validate.
 */
export function clientSettings(name: string, options: ClientUpstreamOptions): ClientSettings {
  const caller = `serviceClient(${JSON.stringify(name)})`;
  const timeouts: Record<string, unknown> = { ...options.timeouts };
  if (options.timeout !== undefined) timeouts.total = durationText(options.timeout, caller);
  const parsed = clientUpstreamSchema.safeParse({
    loadBalancer:
      typeof options.loadBalancer === "string"
        ? { algorithm: options.loadBalancer }
        : options.loadBalancer,
    healthCheck: options.healthCheck,
    circuitBreaker: options.circuitBreaker,
    retries: typeof options.retries === "number" ? { attempts: options.retries } : options.retries,
    limits: options.limits,
    timeouts,
    maxResponseSize: options.maxResponseSize,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "options"}: ${issue.message}`,
    );
    throw new TypeError(`${caller}: ${problems.join("; ")}`);
  }
  const { maxResponseSize, circuitBreaker, ...upstream } = parsed.data;
  const config: ServiceConfig = {
    name,
    protocol: "http",
    plugins: [],
    ...upstream,
    ...(circuitBreaker && { circuitBreaker }),
  };
  return { config, maxResponseSize };
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
