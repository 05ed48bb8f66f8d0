/**
 * @module plugins/oauth2-introspection/schema
 * The plugin's config: where the introspection endpoint is and how the gateway proves
 * itself to it, how long answers are kept, and what an active token must carry.
 */
import { z } from "zod";
import { duration } from "../../config/schema/fields.ts";
import { anonymousOption, hideCredentialsOption } from "../auth/authentication.ts";

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "expected an HTTP header name");

const introspectionUrl = z
  .string()
  .refine(
    (text) => {
      if (!URL.canParse(text)) return false;
      const url = new URL(text);
      return (url.protocol === "http:" || url.protocol === "https:") && !url.username && !url.hash;
    },
    { message: "expected an http:// or https:// URL without user info or #fragment" },
  )
  .describe(
    "The RFC 7662 introspection endpoint, e.g. `https://auth.example.com/oauth2/introspect`.",
  );

export const introspectionSchema = z
  .strictObject({
    introspectionUrl,
    clientId: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The gateway's client id at the endpoint (sent with `clientSecret` as HTTP Basic).",
      ),
    clientSecret: z
      .string()
      .min(1)
      .optional()
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own reference syntax
      .describe("The gateway's client secret (write it as ${env:NAME}, not in the file)."),
    authorization: z
      .string()
      .min(1)
      .optional()
      .describe(
        "A whole Authorization header value for the endpoint, instead of clientId/clientSecret.",
      ),
    tokenTypeHint: z
      .string()
      .min(1)
      .default("access_token")
      .describe("The `token_type_hint` sent with each token."),
    timeout: duration("2s").describe(
      "How long an introspection may take before the request is a 503.",
    ),
    cache: z
      .strictObject({
        ttl: duration("60s").describe(
          "How long an active answer is kept (never past the token's `exp`); 0 keeps none.",
        ),
        negativeTtl: duration("5s").describe("How long an inactive answer is kept; 0 keeps none."),
        maxEntries: z
          .number()
          .int()
          .min(1)
          .default(10_000)
          .describe("At most this many answers are kept."),
      })
      .prefault({})
      .describe("Remembered answers, keyed by the token's SHA-256."),
    consumerClaim: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The answer's field whose value is a consumer's name (e.g. `username` or `client_id`); a token naming no known consumer is a 401. Unset, an active token names no consumer.",
      ),
    requiredScopes: z
      .array(z.string().regex(/^[^\s"\\]+$/, "a scope is one word without quotes"))
      .default([])
      .describe("Scopes the answer's `scope` must all include (else 403)."),
    claimsToHeaders: z
      .record(z.string().min(1), headerName)
      .default({})
      .describe(
        "Answer fields copied to upstream request headers: field name → header name. A client's own headers of these names are dropped on every route.",
      ),
    hideCredentials: hideCredentialsOption("the Authorization header"),
    anonymous: anonymousOption,
  })
  .superRefine((config, ctx) => {
    const pair = config.clientId !== undefined || config.clientSecret !== undefined;
    if (pair && (config.clientId === undefined || config.clientSecret === undefined)) {
      const field = config.clientId === undefined ? "clientId" : "clientSecret";
      ctx.addIssue({
        code: "custom",
        path: [field],
        message: "set clientId and clientSecret together",
      });
    }
    if (pair && config.authorization !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["authorization"],
        message: "set either authorization or clientId/clientSecret, not both",
      });
    }
    if (!pair && config.authorization === undefined) {
      ctx.addIssue({
        code: "custom",
        message:
          "set clientId and clientSecret, or authorization: the endpoint must know the gateway",
      });
    }
  });

export type IntrospectionConfig = z.output<typeof introspectionSchema>;
