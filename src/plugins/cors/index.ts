/**
 * @module plugins/cors
 * Cross-origin resource sharing answered by the gateway: preflights (OPTIONS with Origin
 * and Access-Control-Request-Method) are answered in `onRequest` and never forwarded;
 * actual requests from allowed origins get the CORS response headers in `onResponse`,
 * and every response says `Vary: Origin` so caches keep origins apart.
 */
import { z } from "zod";
import { optionalDuration } from "../../config/schema/fields.ts";
import { httpMethod } from "../../config/schema/http-methods.ts";
import type { RequestContext } from "../../pipeline/context.ts";
import { definePlugin, type ResponseView } from "../../pipeline/plugin.ts";
import { addVary, setHeader } from "../../proxy/headers.ts";
import { compileOrigins, originPatternProblem } from "./origins.ts";

const token = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "expected an HTTP token");

const originPattern = z
  .union([z.string(), z.strictObject({ regex: z.string().min(1) })])
  .superRefine((pattern, ctx) => {
    const problem = originPatternProblem(pattern);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .describe("An origin (https://app.example.com), a wildcard (*.example.com), { regex }, or *.");

const schema = z.strictObject({
  origins: z.array(originPattern).min(1).describe("The origins allowed to call this route."),
  methods: z
    .array(
      z.union([
        z.literal("*").describe("Any method (browsers honour it only without credentials)."),
        token.transform((method) => method.toUpperCase()).pipe(httpMethod),
      ]),
    )
    .min(1)
    .default(["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"])
    .describe("Access-Control-Allow-Methods on preflights."),
  allowHeaders: z
    .array(token)
    .optional()
    .describe("Access-Control-Allow-Headers; by default the preflight's requested headers."),
  exposeHeaders: z.array(token).default([]).describe("Access-Control-Expose-Headers."),
  credentials: z.boolean().default(false).describe("Allow cookies and HTTP authentication."),
  maxAge: optionalDuration.describe("How long browsers may cache a preflight."),
});

export const corsPlugin = definePlugin({
  name: "cors",
  schema,
  // Before authentication: a preflight carries no credentials and must not be refused for that.
  priority: 2000,
  create(config) {
    const origins = compileOrigins(config.origins);
    // With credentials, browsers refuse `*`: the allowed origin is echoed instead.
    const wildcard = origins.any && !config.credentials;
    const methods = config.methods.join(", ");
    const allowHeaders = config.allowHeaders?.join(", ");
    const exposeHeaders = config.exposeHeaders.join(", ");
    const maxAge =
      config.maxAge === undefined ? undefined : String(Math.floor(config.maxAge / 1000));
    const preflightVary =
      allowHeaders === undefined ? "Origin, Access-Control-Request-Headers" : "Origin";

    function preflight(ctx: RequestContext, origin: string): void {
      if (!origins.test(origin)) {
        ctx.fail("GATEHOUSE_CORS_REJECTED", undefined, { vary: "Origin" });
        return;
      }
      const headers: Record<string, string> = {
        "access-control-allow-origin": wildcard ? "*" : origin,
        "access-control-allow-methods": methods,
        vary: preflightVary,
      };
      const requested = ctx.headers["access-control-request-headers"];
      const allowed = allowHeaders ?? requested;
      if (allowed) headers["access-control-allow-headers"] = allowed;
      if (config.credentials) headers["access-control-allow-credentials"] = "true";
      if (maxAge !== undefined) headers["access-control-max-age"] = maxAge;
      ctx.respond(204, "", headers);
    }

    return {
      onRequest(ctx) {
        const { method, headers } = ctx;
        const origin = headers.origin;
        if (method === "OPTIONS" && origin && headers["access-control-request-method"]) {
          preflight(ctx, origin);
        }
      },
      onResponse(ctx, response: ResponseView) {
        const headers = response.headers;
        addVary(headers, "Origin");
        const origin = ctx.headers.origin;
        if (!origin || !origins.test(origin)) return;
        setHeader(headers, "access-control-allow-origin", wildcard ? "*" : origin);
        if (config.credentials) setHeader(headers, "access-control-allow-credentials", "true");
        if (exposeHeaders) setHeader(headers, "access-control-expose-headers", exposeHeaders);
      },
    };
  },
});
