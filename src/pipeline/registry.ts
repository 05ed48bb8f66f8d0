/**
 * @module pipeline/registry
 * The plugins Gatehouse knows by name. Config naming any other plugin is rejected at
 * load, so a misspelt or missing security plugin can never be silently skipped.
 */
import { aclPlugin } from "../plugins/acl/index.ts";
import { authorizePlugin } from "../plugins/authorize/index.ts";
import { basicAuthPlugin } from "../plugins/basic-auth/index.ts";
import { concurrencyLimitPlugin } from "../plugins/concurrency-limit/index.ts";
import { corsPlugin } from "../plugins/cors/index.ts";
import { ipRestrictionPlugin } from "../plugins/ip-restriction/index.ts";
import { jwtPlugin } from "../plugins/jwt/index.ts";
import { keyAuthPlugin } from "../plugins/key-auth/index.ts";
import { oauth2IntrospectionPlugin } from "../plugins/oauth2-introspection/index.ts";
import { rateLimitPlugin } from "../plugins/rate-limit/index.ts";
import { requestSizeLimitPlugin } from "../plugins/request-size-limit/index.ts";
import { securityHeadersPlugin } from "../plugins/security-headers/index.ts";
import type { PluginDefinition } from "./plugin.ts";

/** The plugins that ship with Gatehouse. */
const builtins: PluginDefinition[] = [
  securityHeadersPlugin as unknown as PluginDefinition,
  requestSizeLimitPlugin as unknown as PluginDefinition,
  ipRestrictionPlugin as unknown as PluginDefinition,
  corsPlugin as unknown as PluginDefinition,
  keyAuthPlugin as unknown as PluginDefinition,
  jwtPlugin as unknown as PluginDefinition,
  basicAuthPlugin as unknown as PluginDefinition,
  oauth2IntrospectionPlugin as unknown as PluginDefinition,
  aclPlugin as unknown as PluginDefinition,
  authorizePlugin as unknown as PluginDefinition,
  concurrencyLimitPlugin as unknown as PluginDefinition,
  rateLimitPlugin as unknown as PluginDefinition,
];

const registered = new Map<string, PluginDefinition>(
  builtins.map((plugin) => [plugin.name, plugin]),
);

/** The plugins that ship with Gatehouse (not those registered since). */
export function builtinPlugins(): readonly PluginDefinition[] {
  return builtins;
}

/** Makes a plugin available to config by its name; a second plugin of the same name is an error. */
export function registerPlugin(definition: PluginDefinition): void {
  const existing = registered.get(definition.name);
  if (existing && existing !== definition) {
    throw new Error(`a plugin named "${definition.name}" is already registered`);
  }
  registered.set(definition.name, definition);
}

/** The plugin registered under `name`, if any. */
export function pluginDefinition(name: string): PluginDefinition | undefined {
  return registered.get(name);
}

/** The names config may use in `plugins: [{ name }]`. */
export function pluginNames(): string[] {
  return [...registered.keys()];
}
