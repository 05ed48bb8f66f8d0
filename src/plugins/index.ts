/**
 * @module plugins
 * The plugins that ship with Gatehouse, and the registry a gateway starts from: these,
 * then the plugins given to it (`createGateway(config, { plugins })`, `gateway.pluginModules`).
 */
import type { PluginDefinition } from "../pipeline/plugin.ts";
import { PluginRegistry } from "../pipeline/registry.ts";
import type { NodeCounters } from "../stores/node-limits.ts";
import { aclPlugin } from "./acl/index.ts";
import { authorizePlugin } from "./authorize/index.ts";
import { basicAuthPlugin } from "./basic-auth/index.ts";
import { cachePlugin } from "./cache/index.ts";
import { compressionPlugin } from "./compression/index.ts";
import { concurrencyLimitPlugin } from "./concurrency-limit/index.ts";
import { corsPlugin } from "./cors/index.ts";
import { grpcTranscodePlugin } from "./grpc-transcode/index.ts";
import { grpcWebPlugin } from "./grpc-web/index.ts";
import { ipRestrictionPlugin } from "./ip-restriction/index.ts";
import { jwtPlugin } from "./jwt/index.ts";
import { keyAuthPlugin } from "./key-auth/index.ts";
import { mockPlugin } from "./mock/index.ts";
import { mtlsPlugin } from "./mtls/index.ts";
import { oauth2IntrospectionPlugin } from "./oauth2-introspection/index.ts";
import { rateLimitPlugin } from "./rate-limit/index.ts";
import { rateLimitNodeCounter } from "./rate-limit/node-counter.ts";
import { requestSizeLimitPlugin } from "./request-size-limit/index.ts";
import { requestTransformerPlugin } from "./request-transformer/index.ts";
import { requestValidationPlugin } from "./request-validation/index.ts";
import { responseTransformerPlugin } from "./response-transformer/index.ts";
import { securityHeadersPlugin } from "./security-headers/index.ts";
import { threatProtectionPlugin } from "./threat-protection/index.ts";

/** The plugins that ship with Gatehouse. */
export const builtinPlugins: readonly PluginDefinition[] = [
  securityHeadersPlugin,
  requestSizeLimitPlugin,
  threatProtectionPlugin,
  ipRestrictionPlugin,
  corsPlugin,
  keyAuthPlugin,
  jwtPlugin,
  basicAuthPlugin,
  oauth2IntrospectionPlugin,
  mtlsPlugin,
  aclPlugin,
  authorizePlugin,
  concurrencyLimitPlugin,
  rateLimitPlugin,
  requestValidationPlugin,
  grpcTranscodePlugin,
  grpcWebPlugin,
  cachePlugin,
  requestTransformerPlugin,
  responseTransformerPlugin,
  mockPlugin,
  compressionPlugin,
];

/**
 * What the built-ins count once per node, by kind, when the node runs several worker
 * threads: the supervisor builds these counters (stores/node-limits.ts) from the plain
 * definitions the workers send.
 */
export const builtinNodeCounters: NodeCounters = [rateLimitNodeCounter];

/**
 * Plugins registered with the deprecated `registerPlugin` (and by the plugin modules of a
 * config loaded without a registry): every registry created after includes them.
 */
const registeredInProcess = new PluginRegistry(builtinPlugins);

/**
 * Makes a plugin available to every gateway created after, in this thread.
 * @deprecated Give the plugin to the gateway instead: `createGateway(config, { plugins: [plugin] })`,
 * or `createPluginRegistry([plugin])` passed to `validateConfigFile` and `new Gateway`.
 */
export function registerPlugin(definition: PluginDefinition): void {
  registeredInProcess.register(definition);
}

/**
 * The registry of the plugins registered process-wide (the built-ins and `registerPlugin`'s);
 * what `validateConfigFile` loads plugin modules into when it is given no registry of its own.
 */
export function processPluginRegistry(): PluginRegistry {
  return registeredInProcess;
}

/** A new registry: the built-ins (and any `registerPlugin` added), then `plugins`. */
export function createPluginRegistry(plugins: Iterable<PluginDefinition> = []): PluginRegistry {
  const registry = new PluginRegistry(registeredInProcess.definitions());
  for (const plugin of plugins) registry.register(plugin);
  return registry;
}
