/**
 * @module config/validate
 * Loading a config file with every check the gateway makes before it serves: the
 * schema, references between resources, and what only compiling reveals.
 */
import { runtimeChecks } from "../runtime/compile.ts";
import { loadConfigFile, parseConfig } from "./load.ts";
import type { GatehouseConfig } from "./schema.ts";

/** Reads and fully validates a config file; throws ConfigError listing every problem. */
export function loadGatewayConfig(
  file: string,
  env?: Record<string, string | undefined>,
): Promise<GatehouseConfig> {
  return loadConfigFile(file, { env, checks: [runtimeChecks] });
}

/** Fully validates config text; throws ConfigError listing every problem. */
export function parseGatewayConfig(
  text: string,
  file: string,
  env?: Record<string, string | undefined>,
): GatehouseConfig {
  return parseConfig(text, file, { env, checks: [runtimeChecks] });
}
