/**
 * @module plugins/transform/schema
 * The config pieces request-transformer and response-transformer share: edits of named
 * values (headers, query arguments: `remove`, `rename`, `replace`, `set`, `add`, `append`), JSON body
 * edits by dotted field path with their size bound, and templated values checked when the
 * config loads.
 */
import { z } from "zod";
import { size } from "../../config/schema/fields.ts";
import { fieldPathProblem } from "./json-edits.ts";
import { templateProblem } from "./template.ts";

/** A value that may reference the request (`$(header.x-foo)`); numbers are taken as text. */
export const templateValue = z
  .union([z.string(), z.number(), z.boolean()])
  .superRefine((value, ctx) => {
    const problem = templateProblem(String(value));
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .transform((value) => String(value));

/** Text a header field can carry (no CR, LF or other control characters). */
export const headerText = /^[\t\x20-\x7e\x80-\xff]*$/;

/** A templated header value: its written text must be one a header can carry. */
const headerValue = templateValue.refine((text) => headerText.test(text), {
  message: "a header value cannot hold control characters (CR, LF, ...)",
});

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "expected an HTTP header name");

/** Headers the gateway frames or owns itself: a transformer changing them would break the exchange. */
const framing = new Set(["host", "content-length", "transfer-encoding", "connection", "upgrade"]);

export const editableHeader = headerName.refine((name) => !framing.has(name.toLowerCase()), {
  message: "the gateway sets this header itself; it cannot be edited",
});

/** The operations on named values, in the order they are applied. */
function namedEdits(name: z.ZodType<string>, value: z.ZodType<string, unknown>, what: string) {
  return z.strictObject({
    remove: z.array(name).default([]).describe(`${what} removed.`),
    rename: z
      .record(name, name)
      .default({})
      .describe(`${what} renamed (old: new), keeping their values; absent ones are skipped.`),
    replace: z
      .record(name, value)
      .default({})
      .describe(`${what} given the value only when present (Kong's replace).`),
    set: z.record(name, value).default({}).describe(`${what} set to the value, replacing any.`),
    add: z.record(name, value).default({}).describe(`${what} added only when absent.`),
    append: z
      .record(name, value)
      .default({})
      .describe(`${what} given one more value (kept after the existing ones).`),
  });
}

export const headerEdits = namedEdits(editableHeader, headerValue, "Headers");
export const queryEdits = namedEdits(z.string().min(1), templateValue, "Query arguments");

export type NamedEdits = z.output<typeof headerEdits>;

const fieldPath = z.string().superRefine((path, ctx) => {
  const problem = fieldPathProblem(path);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

/** A JSON value; a string in it may reference the request like any other value. */
const jsonValue = z.unknown().superRefine((value, ctx) => {
  if (typeof value !== "string") return;
  const problem = templateProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export const bodyEdits = z.strictObject({
  remove: z.array(fieldPath).default([]).describe("Fields removed (dotted paths: user.email)."),
  rename: z
    .record(fieldPath, fieldPath)
    .default({})
    .describe("Fields moved (old: new path), keeping their values."),
  replace: z
    .record(fieldPath, jsonValue)
    .default({})
    .describe("Fields given the value only when present."),
  set: z.record(fieldPath, jsonValue).default({}).describe("Fields set, replacing any value."),
  add: z.record(fieldPath, jsonValue).default({}).describe("Fields added only when absent."),
  maxSize: size("1mb")
    .refine((bytes) => bytes > 0, { message: "must be more than 0 bytes" })
    .describe("The largest body edited; the whole body is held while it is rewritten."),
});

export type BodyEdits = z.output<typeof bodyEdits>;
