/**
 * @module runtime/identity-headers
 * The request headers a config's authentication plugins set to say who the client is
 * (see PluginDefinition.identityHeaders). The request path drops a client's own headers of
 * these names on every route before the plugins set theirs, so a header such as
 * `x-user-id` reaches an upstream only when the gateway put it there.
 */
import type { GatehouseConfig, PluginConfig } from "../config/schema/index.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";

/** The lower-cased identity header names of every plugin entry in `config`, each once. */
export function identityHeadersOf(config: GatehouseConfig, registry: PluginRegistry): string[] {
  const entries: PluginConfig[] = [
    ...config.plugins,
    ...config.services.flatMap((service) => service.plugins),
    ...config.routes.flatMap((route) => route.plugins),
    ...config.consumers.flatMap((consumer) => consumer.plugins),
  ];
  const names = new Set<string>();
  for (const entry of entries) {
    const definition = registry.get(entry.name);
    if (!definition?.identityHeaders) continue;
    for (const name of definition.identityHeaders(definition.schema.parse(entry.config))) {
      names.add(name.toLowerCase());
    }
  }
  return [...names];
}
