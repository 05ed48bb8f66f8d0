/**
 * @module pipeline/registry
 * The plugins Gatehouse knows by name. Config naming any other plugin is rejected at
 * load, so a misspelt or missing security plugin can never be silently skipped.
 */

const registered = new Map<string, unknown>();

/** The names config may use in `plugins: [{ name }]`. */
export function pluginNames(): string[] {
  return [...registered.keys()];
}
