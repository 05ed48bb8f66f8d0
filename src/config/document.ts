/**
 * @module config/document
 * The config as written: the plain data of the YAML or JSON the loader read (merged with
 * its overlay, aliases expanded), with `${env:…}`, `${file:…}` and `${enc:…}` references
 * left as references and no defaults filled in. It is what the admin API shows and edits,
 * what config versions keep and diff, and what is written back to the config file — never
 * the resolved secrets, and never the defaults, which stay defaults.
 */
import type { ConfigProblem } from "./load.ts";

/** A config document as written. */
export interface ConfigDocument {
  gateway?: unknown;
  services?: unknown[];
  routes?: unknown[];
  consumers?: unknown[];
  plugins?: unknown[];
}

/** The parts of a document that hot reload and the admin API change (`gateway:` needs a restart). */
export const dynamicSections = ["services", "routes", "consumers", "plugins"] as const;
export type DynamicSection = (typeof dynamicSections)[number];

/** Where a loaded config came from and what it said. */
export interface ConfigOrigin {
  document: ConfigDocument;
  /** The file the loader was given (a label such as `admin` for text that came from elsewhere). */
  file: string;
  /** The environment overlay merged over `file`, if any. */
  overlay?: string;
  /** What is valid but unwise in it (config/load-warnings), each located. */
  warnings?: ConfigProblem[];
  /** The files besides its own text that it depends on; absent when there are none. */
  dependsOn?: DependedFiles;
}

/**
 * Files a config depends on besides its own text (the `.proto` files its plugins read, see
 * PluginDefinition.files), and a digest of what they held when it was loaded: the digest
 * is part of the config's hash, so an edit to one of them is a new config.
 */
export interface DependedFiles {
  /** Absolute paths, in the order the checks named them. */
  files: string[];
  digest: string;
}

const origins = new WeakMap<object, ConfigOrigin>();

/** Remembers what `config` was loaded from; the loader calls this for every config it returns. */
export function rememberConfigOrigin(config: object, origin: ConfigOrigin): void {
  origins.set(config, origin);
}

/** What `config` was loaded from; undefined for a config not made by the loader. */
export function configOriginOf(config: object): ConfigOrigin | undefined {
  return origins.get(config);
}
