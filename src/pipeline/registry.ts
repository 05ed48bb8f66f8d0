/**
 * @module pipeline/registry
 * The plugins one gateway knows by name. Config naming any other plugin is rejected at
 * load, so a misspelt or missing security plugin can never be silently skipped. Each
 * gateway has its own registry (see plugins/index.ts for the one with the built-ins):
 * two gateways in one process may run different plugins under the same name.
 */
import type { PluginDefinition } from "./plugin.ts";

/** Plugins by name; validation and compilation of one gateway's configs read the same one. */
export class PluginRegistry {
  readonly #byName = new Map<string, PluginDefinition>();

  constructor(plugins: Iterable<PluginDefinition> = []) {
    for (const plugin of plugins) this.register(plugin);
  }

  /**
   * Makes a plugin available to config by its name; a second plugin of the same name is an
   * error (registering the same plugin again is not). A config that names it validates and
   * compiles from then on: on the next reload, for a gateway already running.
   */
  register(definition: PluginDefinition): void {
    const existing = this.#byName.get(definition.name);
    if (existing && existing !== definition) {
      throw new Error(`a plugin named "${definition.name}" is already registered`);
    }
    this.#byName.set(definition.name, definition);
  }

  /** The plugin registered under `name`, if any. */
  get(name: string): PluginDefinition | undefined {
    return this.#byName.get(name);
  }

  /** The names config may use in `plugins: [{ name }]`. */
  names(): string[] {
    return [...this.#byName.keys()];
  }

  /** Every plugin registered, in registration order. */
  definitions(): PluginDefinition[] {
    return [...this.#byName.values()];
  }
}
