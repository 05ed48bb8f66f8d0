/**
 * @module plugins/request-validation/schema
 * The request-validation plugin's config: the OpenAPI document and what to do with what
 * does not match it.
 */
import { z } from "zod";
import { size } from "../../config/schema/fields.ts";

export const requestValidationSchema = z.strictObject({
  spec: z
    .union([z.string().min(1), z.record(z.string(), z.unknown())])
    .describe(
      "The OpenAPI 3.0 or 3.1 document: a YAML or JSON file, relative to the config file (or absolute), or the document itself as a mapping.",
    ),
  mode: z
    .enum(["enforce", "report"])
    .default("enforce")
    .describe(
      "`enforce` refuses a request that does not match with 400; `report` passes it on and logs and counts its problems.",
    ),
  unknownOperations: z
    .enum(["reject", "pass"])
    .default("reject")
    .describe(
      "A request whose path and method the document has no operation for: `reject` answers 404 (no such path) or 405 (no such method); `pass` sends it on unchecked.",
    ),
  basePath: z
    .string()
    .regex(/^\/[^?#]*$/, "must start with /")
    .optional()
    .describe(
      "The prefix, in the path the client sends, under which the document's paths are (`/api` for a document of the upstream's paths behind `stripPrefix: /api`); none by default. The document's `servers` are not read.",
    ),
  maxBodySize: size("1mb")
    .refine((bytes) => bytes > 0, { message: "must be more than 0 bytes" })
    .describe(
      "The largest JSON body read to be checked; a larger one is refused with 413 (`report`: passed on unchecked).",
    ),
  validateResponses: z
    .boolean()
    .default(false)
    .describe(
      "Also check the upstream's JSON responses against the document's response schemas; problems are logged and counted, the response is never changed.",
    ),
});

export type RequestValidationConfig = z.output<typeof requestValidationSchema>;
