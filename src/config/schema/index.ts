/**
 * @module config/schema
 * The single source of truth for the config file: TypeScript types, validation, the
 * JSON Schema (`gatehouse schema`) and docs/config.md are all derived from the schemas in
 * this folder. `gateway` (gateway.ts) is static; `services`, `routes`, `consumers` and
 * `plugins` are the dynamic part, each in its own file.
 */
import { z } from "zod";
import { consumerSchema } from "./consumers.ts";
import { gatewaySchema } from "./gateway.ts";
import { pluginSchema } from "./plugins.ts";
import { routeSchema, type stringMatcher } from "./routes.ts";
import { serviceSchema } from "./services.ts";
import type { timeoutsSchema } from "./timeouts.ts";

export { unitKeyword } from "./fields.ts";
export { pluginSchema } from "./plugins.ts";

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
