/**
 * @module portal/route-plugins
 * The plugins a route runs, as the portal reads them from the config: global, then the
 * service's, then the route's own, one per name with the most specific winning (the
 * order the pipeline compiles them in, runtime/plugin-instances).
 */
import type { GatehouseConfig, PluginConfig, RouteConfig } from "../config/schema/index.ts";

/** The route's effective plugin entries, by name. */
export function routePlugins(config: GatehouseConfig, route: RouteConfig): PluginConfig[] {
  const service = config.services.find((candidate) => candidate.name === route.service);
  const byName = new Map<string, PluginConfig>();
  for (const plugin of [...config.plugins, ...(service?.plugins ?? []), ...route.plugins])
    byName.set(plugin.name, plugin);
  return [...byName.values()];
}
