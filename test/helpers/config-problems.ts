/**
 * @module test/helpers/config-problems
 * What `gatehouse validate` would print for a config text: every problem as
 * `FILE:LINE:COL path: message`, or none when the config is valid.
 */
import { ConfigError, formatProblem } from "../../src/config/load.ts";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";

/** The config's problems as printed lines (file name `gw.yaml`); empty when it is valid. */
export function configProblems(text: string): string[] {
  try {
    parseGatewayConfig(text, "gw.yaml", {});
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems.map(formatProblem);
  }
}
