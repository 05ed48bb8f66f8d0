/**
 * @module pipeline/modules
 * Third-party plugins named in the config (`gateway.pluginModules`): a path, relative to
 * the config file, or an npm package name resolved from the config file's folder. Each
 * module's default export is a plugin, or an array of plugins.
 */
import { createRequire } from "node:module";
import { dirname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { PathProblem } from "../config/semantics.ts";
import type { PluginDefinition } from "./plugin.ts";
import type { PluginRegistry } from "./registry.ts";

/** The `gateway.pluginModules` entries of raw config input, if it has a list of strings there. */
export function pluginModulesOf(input: unknown): string[] {
  const list = (input as { gateway?: { pluginModules?: unknown } } | null)?.gateway?.pluginModules;
  return Array.isArray(list)
    ? list.filter((entry): entry is string => typeof entry === "string")
    : [];
}

/**
 * Imports the plugins of each module into `registry`; a module that fails (or a plugin
 * whose name another plugin has) is a located problem.
 */
export async function loadPluginModules(
  specs: readonly string[],
  configFile: string,
  registry: PluginRegistry,
): Promise<PathProblem[]> {
  const problems: PathProblem[] = [];
  const base = dirname(resolve(configFile));
  for (const [index, spec] of specs.entries()) {
    const path = ["gateway", "pluginModules", index];
    try {
      const exported = (await import(moduleUrl(spec, base))).default as unknown;
      const plugins = Array.isArray(exported) ? exported : [exported];
      if (plugins.length === 0 || !plugins.every(isPlugin)) {
        problems.push({
          path,
          message: `"${spec}" does not default-export a plugin (see definePlugin)`,
        });
        continue;
      }
      for (const plugin of plugins) registry.register(plugin);
    } catch (error) {
      problems.push({
        path,
        message: `cannot load plugin module "${spec}": ${(error as Error).message}`,
      });
    }
  }
  return problems;
}

function moduleUrl(spec: string, base: string): string {
  if (spec.startsWith(".") || isAbsolute(spec)) return pathToFileURL(resolve(base, spec)).href;
  return pathToFileURL(createRequire(resolve(base, "config.js")).resolve(spec)).href;
}

function isPlugin(value: unknown): value is PluginDefinition {
  const plugin = value as Partial<PluginDefinition> | null;
  return (
    typeof plugin?.name === "string" &&
    typeof plugin.create === "function" &&
    typeof plugin.priority === "number" &&
    typeof plugin.schema?.safeParse === "function"
  );
}
