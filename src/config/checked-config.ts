/**
 * @module config/checked-config
 * A checked config as plain data: the config together with what the loader knows about it
 * (the document as written, the file and overlay it came from, its warnings, the secrets
 * and files substituted into it), in one object that survives structured cloning. It is
 * what a thread that validated hands a thread that serves (server/worker-messages), so
 * validation does not have to run where the config serves.
 */
import { type ConfigOrigin, configOriginOf, rememberConfigOrigin } from "./document.ts";
import type { GatehouseConfig } from "./schema/index.ts";
import { processSecrets, rememberSecrets, SecretValues, secretsOf } from "./secret-values.ts";

/** A validated config and what its load found, as data. */
export interface CheckedConfig {
  config: GatehouseConfig;
  /** Undefined for a config made in code rather than loaded from text. */
  origin: ConfigOrigin | undefined;
  /** The secret values substituted into it: whoever serves it redacts them from its log. */
  secrets: string[];
  /** The files its `${file:…}` references read (absolute paths). */
  files: string[];
}

/** `config` (validated by this thread's loader) with what its load found, as plain data. */
export function checkedConfigOf(config: GatehouseConfig): CheckedConfig {
  const secrets = secretsOf(config);
  return {
    config,
    origin: configOriginOf(config),
    secrets: secrets.values(),
    files: secrets.files,
  };
}

/**
 * The config of a checked config received from another thread (a structured clone), with
 * its origin and secrets known here as they were where it was checked: what the loader
 * would have returned had it run in this thread. Its secrets join this process's.
 */
export function adoptCheckedConfig(checked: CheckedConfig): GatehouseConfig {
  const { config, origin } = checked;
  const secrets = new SecretValues();
  for (const value of checked.secrets) secrets.add(value, "enc");
  for (const file of checked.files) secrets.addFile(file);
  processSecrets.addAll(secrets);
  rememberSecrets(config, secrets);
  if (origin) rememberConfigOrigin(config, origin);
  return config;
}
