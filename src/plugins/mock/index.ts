/**
 * @module plugins/mock
 * Answers the route's requests itself with a fixed status, headers and body, optionally
 * after a delay; the upstream is never called (so a route works with no reachable target):
 * stubs of an API not built yet, and maintenance windows.
 */
import { z } from "zod";
import { optionalDuration } from "../../config/schema/fields.ts";
import { definePlugin } from "../../pipeline/plugin.ts";
import { editableHeader, headerText } from "../transform/schema.ts";

/** Longest `delay`: a mock stands in for a slow upstream, not for a stuck one. */
const maxDelay = 60_000;

const schema = z
  .strictObject({
    status: z.number().int().min(200).max(599).default(200).describe("The status answered."),
    headers: z
      .record(
        editableHeader,
        z
          .union([z.string(), z.number()])
          .transform(String)
          .refine((text) => headerText.test(text), {
            message: "a header value cannot hold control characters (CR, LF, ...)",
          }),
      )
      .default({})
      .describe("Headers of the answer; a content-type here wins over the body's."),
    body: z
      .unknown()
      .optional()
      .describe(
        "The body: text (text/plain) or any other JSON value (sent as JSON, application/json).",
      ),
    delay: optionalDuration
      .refine((ms) => ms === undefined || ms <= maxDelay, { message: "at most 60s" })
      .describe("How long to wait before answering."),
  })
  .superRefine((config, ctx) => {
    const empty = config.status === 204 || config.status === 304;
    if (empty && config.body !== undefined) {
      ctx.addIssue({ code: "custom", path: ["body"], message: `a ${config.status} has no body` });
    }
  });

export const mockPlugin = definePlugin({
  name: "mock",
  schema,
  // Late in access, as Kong's mocking: authentication, acl and limits still apply to stubs.
  priority: 20,
  create(config) {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(config.headers)) headers[name.toLowerCase()] = value;
    // Worked out once: the text sent and its type.
    let body = "";
    if (typeof config.body === "string") body = config.body;
    else if (config.body !== undefined) {
      body = JSON.stringify(config.body);
      headers["content-type"] ??= "application/json";
    }
    const { status, delay } = config;

    if (delay === undefined || delay === 0) {
      return {
        access(ctx) {
          ctx.respond(status, body, headers);
        },
      };
    }
    return {
      access(ctx) {
        return new Promise<void>((resolve) => {
          setTimeout(() => {
            ctx.respond(status, body, headers);
            resolve();
          }, delay);
        });
      },
    };
  },
});
