/**
 * @module config/schema/plugins
 * A plugin entry, as written globally and under a service, a route or a consumer: the
 * plugin's name and its settings, which the named plugin's own schema judges.
 */
import { z } from "zod";

/** A plugin entry; its `config` is judged by the named plugin's own schema (runtime/plugin-checks). */
export const pluginSchema = z
  .strictObject({
    name: z
      .string()
      .describe("Plugin name: a built-in plugin, or one from `gateway.pluginModules`."),
    config: z
      .record(z.string(), z.unknown())
      .default({})
      .describe(
        "The plugin's own settings; a built-in plugin's are listed under Plugin settings in docs/config.md.",
      ),
  })
  .describe("A plugin and its settings.");
