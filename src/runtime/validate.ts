/**
 * @module runtime/validate
 * Loading a config file with every check the gateway makes before it serves: the
 * schema, references between resources, and what only compiling reveals. It belongs to the
 * runtime, which owns those checks: config/ only parses and takes the checks it is given.
 */
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import {
  loadConfigFile,
  type OverlayOption,
  type ParseOptions,
  parseConfig,
} from "../config/load.ts";
import type { GatehouseConfig } from "../config/schema/index.ts";
import type { PathProblem } from "../config/semantics.ts";
import { loadPluginModules, pluginModulesOf } from "../pipeline/modules.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";
import { processPluginRegistry } from "../plugins/index.ts";
import { portalDocumentFiles } from "../portal/service-document.ts";
import { tlsFileChecks } from "../tls/checks.ts";
import { runtimeChecks } from "./compile.ts";
import { checkPluginEntries, pluginFileChecksFor } from "./plugin-checks.ts";

/**
 * The checks the gateway makes besides the schema, for every way a config arrives (file,
 * reload, admin API): each plugin entry against its plugin in `plugins` (the gateway's
 * registry), on the config as written (so reported with the schema's problems), then what
 * only compiling the routes reveals.
 */
export function gatewayChecksFor(plugins: PluginRegistry, options: StartupChecks = {}) {
  return {
    inputChecks: [(input: unknown) => checkPluginEntries(input, plugins)],
    checks: [
      runtimeChecks,
      pluginFileChecksFor(plugins),
      portalDocumentFiles,
      ...(options.staticFiles ? [tlsFileChecks] : []),
    ],
  } satisfies ParseOptions;
}

/** Checks made only of a config a gateway starts from (not of a reload's). */
export interface StartupChecks {
  /**
   * Read the files the static part names (listeners' certificates and keys) and check
   * them, located. A reload leaves `gateway:` as it started, so it does not.
   */
  staticFiles?: boolean;
}

/** The gateway's checks against the process-wide registry (see gatewayChecksFor). */
export const gatewayChecks = gatewayChecksFor(processPluginRegistry());

/**
 * Reads and fully validates a config file (merged with the overlay for an environment,
 * when one is given); throws ConfigError listing every problem. The plugin modules it
 * names are loaded first, into `plugins` (the registry the gateway will run with), so
 * their plugins' configs are checked too. Without `plugins`, the process-wide registry
 * (built-ins and the deprecated `registerPlugin`'s) is used and receives the modules.
 */
export async function validateConfigFile(
  file: string,
  env?: Record<string, string | undefined>,
  overlay?: OverlayOption,
  plugins: PluginRegistry = processPluginRegistry(),
  startup: StartupChecks = {},
): Promise<GatehouseConfig> {
  let modules: PathProblem[] = [];
  try {
    // A list of strings is replaced, not merged: the overlay's list, if it has one, is the one.
    let specs = await pluginModulesIn(file);
    if (overlay) {
      const overlaid = await pluginModulesIn(overlay.file);
      if (overlaid.length > 0) specs = overlaid;
    }
    if (specs.length > 0) modules = await loadPluginModules(specs, file, plugins);
  } catch {
    // Unreadable or not YAML: the full load below reports it, located.
  }
  // A plugin module that fails to load is reported with the rest, as it is written.
  const checks = gatewayChecksFor(plugins, startup);
  const inputChecks = [() => modules, ...checks.inputChecks];
  return loadConfigFile(file, { env, overlay, inputChecks, checks: checks.checks });
}

/**
 * @deprecated Use `validateConfigFile`: the same function, named for what it does (this
 * module validates; `config/load` only loads). The old name keeps working.
 */
export const loadGatewayConfig = validateConfigFile;

/**
 * The plugin modules a file names, read before the full load. Most configs name none, and
 * parsing a large one twice costs as much as the rest of a reload, so only a file that
 * mentions `pluginModules` is parsed here.
 */
async function pluginModulesIn(file: string): Promise<string[]> {
  const text = await readFile(file, "utf8");
  return text.includes("pluginModules") ? pluginModulesOf(parseYaml(text)) : [];
}

/**
 * Fully validates config text against the plugins of `plugins` (default: the process-wide
 * registry); throws ConfigError listing every problem.
 */
export function parseGatewayConfig(
  text: string,
  file: string,
  env?: Record<string, string | undefined>,
  plugins: PluginRegistry = processPluginRegistry(),
  startup: StartupChecks = {},
): GatehouseConfig {
  return parseConfig(text, file, { env, ...gatewayChecksFor(plugins, startup) });
}
