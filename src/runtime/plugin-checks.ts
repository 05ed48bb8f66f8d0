/**
 * @module runtime/plugin-checks
 * The checks on every plugin entry of a config (global, service, route and consumer): the
 * name is a registered plugin, and the plugin's own schema accepts its `config`. They read
 * the config as written, so their problems come with the schema's in one run, and a plugin
 * under a route or service that is broken elsewhere is still checked.
 */

import { resolve } from "node:path";
import type { ConfigCheck } from "../config/load.ts";
import { describeIssue, type IssueProblem } from "../config/messages.ts";
import {
  customMethodsOf,
  methodProblem,
  methodsInPluginConfig,
} from "../config/schema/http-methods.ts";
import type { PluginConfig } from "../config/schema/index.ts";
import type { PathProblem } from "../config/semantics.ts";
import { closest } from "../config/suggest.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";

type Path = (string | number)[];

/**
 * Authentication plugins run at priority 1000 and above (and the edge plugins before
 * them): the consumer is not known yet, so a consumer's own config could never apply.
 */
const consumerIdentifiedBelow = 1000;

/**
 * Every plugin entry's problems, located at the name, or at the key or value in `config`:
 * a plugin is known when `plugins` (the gateway's registry) has it.
 */
export function checkPluginEntries(input: unknown, plugins: PluginRegistry): IssueProblem[] {
  const problems: IssueProblem[] = [];
  const top = isMap(input) ? input : {};
  const context: CheckContext = {
    plugins,
    problems,
    customMethods: customMethodsOf(input),
    sharedRedis: isMap(top.gateway) && isMap(top.gateway.stores) && !!top.gateway.stores.redis,
  };
  checkList(top.plugins, ["plugins"], context);
  for (const section of ["services", "routes", "consumers"] as const) {
    const items = top[section];
    if (!Array.isArray(items)) continue;
    items.forEach((item, index) => {
      if (!isMap(item)) return;
      checkList(item.plugins, [section, index, "plugins"], context, section === "consumers");
    });
  }
  return problems;
}

interface CheckContext {
  plugins: PluginRegistry;
  problems: IssueProblem[];
  customMethods: ReadonlySet<string>;
  /** Whether `gateway.stores.redis` is set, for plugins whose `store` is `redis`. */
  sharedRedis: boolean;
}

function checkList(list: unknown, path: Path, context: CheckContext, onConsumer = false): void {
  if (!Array.isArray(list)) return;
  list.forEach((entry, index) => {
    // A malformed entry (no name, config not a map) is the config schema's to report.
    if (!isMap(entry) || typeof entry.name !== "string") return;
    checkEntry(entry.name, entry.config ?? {}, [...path, index], context, onConsumer);
  });
}

function checkEntry(
  name: string,
  config: unknown,
  at: Path,
  { plugins, problems, customMethods, sharedRedis }: CheckContext,
  onConsumer: boolean,
): void {
  const definition = plugins.get(name);
  if (!definition) {
    const hint = closest(name, plugins.names());
    problems.push({
      path: [...at, "name"],
      message: `unknown plugin "${name}"${hint ? ` (did you mean "${hint}"?)` : ""}`,
    });
    return;
  }
  if (onConsumer && definition.priority >= consumerIdentifiedBelow) {
    problems.push({
      path: [...at, "name"],
      message: `"${name}" runs before the consumer is known, so it cannot be set on a consumer`,
    });
  }
  if (!isMap(config)) return;
  // The plugin's own schema judges its config, located like every other problem.
  const result = definition.schema.safeParse(config);
  if (!result.success) {
    for (const issue of result.error.issues)
      for (const problem of describeIssue(issue, config, definition.schema))
        problems.push({ ...problem, path: [...at, "config", ...problem.path] });
    return;
  }
  for (const { path, method } of methodsInPluginConfig(definition.schema, result.data)) {
    const message = methodProblem(method, customMethods);
    if (message) problems.push({ path: [...at, "config", ...path], message });
  }
  // A plugin's `store: redis` needs a Redis: its own `redis.url` or gateway.stores.redis.
  const parsed = result.data as { store?: unknown; redis?: { url?: string } } | undefined;
  if (parsed?.store === "redis" && !parsed.redis?.url && !sharedRedis) {
    problems.push({
      path: [...at, "config", "store"],
      message: `store "redis" needs a Redis: set gateway.stores.redis.url (or this plugin's redis.url)`,
    });
  }
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * The check a gateway makes of its plugin entries' files: each plugin that reads files
 * (a `check` on its definition) looks at them, with relative paths from `baseDir`; then
 * the files it names (`files`) are the config's to depend on.
 */
export function pluginFileChecksFor(plugins: PluginRegistry): ConfigCheck {
  return (config, { baseDir, dependsOn }) => {
    const problems: PathProblem[] = [];
    const entries: { entries: readonly PluginConfig[]; at: Path }[] = [
      { entries: config.plugins, at: ["plugins"] },
    ];
    for (const section of ["services", "routes", "consumers"] as const)
      config[section].forEach((item, index) => {
        entries.push({ entries: item.plugins, at: [section, index, "plugins"] });
      });
    for (const { entries: list, at } of entries)
      list.forEach((entry, index) => {
        const definition = plugins.get(entry.name);
        if (!definition?.check && !definition?.files) return;
        const parsed = definition.schema.safeParse(entry.config ?? {});
        if (!parsed.success) return; // The schema's problems are reported already.
        const found = definition.check?.(parsed.data, { baseDir }) ?? [];
        for (const problem of found)
          problems.push({
            path: [...at, index, "config", ...(problem.path ?? [])],
            message: problem.message,
            ...(problem.at && { at: problem.at }),
          });
        // A config with problems is refused: what it would read does not matter.
        if (found.length === 0)
          for (const file of definition.files?.(parsed.data, { baseDir }) ?? [])
            dependsOn(resolve(baseDir, file));
      });
    return problems;
  };
}
