/**
 * @module gatehouse
 * The public API: run a gateway from code, validate configs, and write plugins.
 */

export { ConfigError, formatProblem } from "./config/load.ts";
export type { GatehouseConfig, GatehouseConfigInput } from "./config/schema/index.ts";
export { type ErrorCode, errorCatalogue } from "./errors.ts";
export { Gateway, type GatewayAddresses } from "./gateway.ts";
export type { ConsumerIdentity, RequestContext } from "./pipeline/context.ts";
export {
  definePlugin,
  type PluginDefinition,
  type PluginHooks,
  type PluginScope,
  type ResponseView,
} from "./pipeline/plugin.ts";
export { registerPlugin } from "./pipeline/registry.ts";
export { loadGatewayConfig, parseGatewayConfig, validateConfigFile } from "./runtime/validate.ts";

import type { GatehouseConfigInput } from "./config/schema/index.ts";
import { Gateway } from "./gateway.ts";
import { parseGatewayConfig } from "./runtime/validate.ts";

/**
 * Validates a config object exactly as `gatehouse validate` would (throws ConfigError),
 * then starts a gateway with it.
 */
export async function createGateway(config: GatehouseConfigInput): Promise<Gateway> {
  const gateway = new Gateway(parseGatewayConfig(JSON.stringify(config), "config", process.env));
  await gateway.start();
  return gateway;
}
