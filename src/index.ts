/**
 * @module gatehouse
 * The public API: run a gateway from code, validate configs, and write plugins.
 */

export { ConfigError, formatProblem } from "./config/load.ts";
export type { GatehouseConfig, GatehouseConfigInput } from "./config/schema/index.ts";
export { type ErrorCode, errorCatalogue, GatehouseError } from "./errors.ts";
export { Gateway, type GatewayAddresses, type GatewayOptions } from "./gateway.ts";
export type {
  AnswerBody,
  ConsumerIdentity,
  RequestContext,
  UpstreamChange,
} from "./pipeline/context.ts";
export {
  definePlugin,
  type PluginDefinition,
  type PluginHooks,
  type PluginScope,
  type ResponseView,
} from "./pipeline/plugin.ts";
export { PluginRegistry } from "./pipeline/registry.ts";
export { createStateKey, type StateKey } from "./pipeline/request-state.ts";
export type { RequestProtocol, RequestView } from "./pipeline/request-view.ts";
export { introspectionClaimsKey, jwtClaimsKey } from "./plugins/auth/token-claims.ts";
export { builtinPlugins, createPluginRegistry, registerPlugin } from "./plugins/index.ts";
export { loadGatewayConfig, parseGatewayConfig, validateConfigFile } from "./runtime/validate.ts";
export type { NodeLimits } from "./stores/node-limits.ts";
export type { RedisConnections, RedisLease, RedisTarget } from "./stores/redis.ts";

import type { GatehouseConfigInput } from "./config/schema/index.ts";
import { Gateway } from "./gateway.ts";
import type { PluginDefinition } from "./pipeline/plugin.ts";
import { createPluginRegistry } from "./plugins/index.ts";
import { parseGatewayConfig } from "./runtime/validate.ts";

export interface CreateGatewayOptions {
  /** Plugins the config may name besides the built-ins (see definePlugin). */
  plugins?: readonly PluginDefinition[];
}

/**
 * Validates a config object exactly as `gatehouse validate` would (throws ConfigError),
 * then starts a gateway with it: one that knows the built-in plugins and `options.plugins`.
 */
export async function createGateway(
  config: GatehouseConfigInput,
  options: CreateGatewayOptions = {},
): Promise<Gateway> {
  const plugins = createPluginRegistry(options.plugins);
  const checked = parseGatewayConfig(JSON.stringify(config), "config", process.env, plugins, {
    staticFiles: true,
  });
  const gateway = new Gateway(checked, { plugins });
  await gateway.start();
  return gateway;
}
