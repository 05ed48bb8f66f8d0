/**
 * @module config/json-schema
 * The JSON Schema of the config file, for editor autocompletion, generated from the same
 * zod schema the validator uses.
 */
import { z } from "zod";
import { configSchema } from "./schema.ts";

/** The JSON Schema (draft 2020-12) describing what a config file may contain. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }),
    title: "Gatehouse configuration",
  };
}
