/**
 * @module config/schema/routes
 * `routes`: which requests go to which service (hosts, paths, methods, headers, query),
 * and how the path is changed on the way.
 */
import { z } from "zod";
import { type PathPattern, parsePathPattern } from "../../router/path-pattern.ts";
import { compileRewrite } from "../../router/rewrite.ts";
import { pathPattern } from "./fields.ts";
import { httpMethod } from "./http-methods.ts";
import { pluginSchema } from "./plugins.ts";
import {
  deprecatedSchema,
  mirrorSchema,
  routeVersion,
  splitSchema,
  stickySchema,
} from "./traffic.ts";

const regex = z
  .string()
  .superRefine((source, ctx) => {
    try {
      new RegExp(source);
    } catch (error) {
      const reason = (error as Error).message.replace(/^Invalid regular expression: /, "");
      ctx.addIssue({ code: "custom", message: `not a valid regular expression: ${reason}` });
    }
  })
  .describe("A JavaScript regular expression.");

export const stringMatcher = z
  .union([z.string().describe("Exact value."), z.strictObject({ regex })])
  .describe("An exact string, or `{ regex }`.");

export const routeSchema = z
  .strictObject({
    name: z.string().min(1).describe("Unique route name."),
    match: z
      .strictObject({
        hosts: z
          .array(z.string().min(1))
          .optional()
          .describe("Host names, exact or `*.example.com`; omitted means any host."),
        paths: z
          .array(pathPattern)
          .min(1)
          .describe("Paths: exact `/a/b`, with parameters `/users/:id`, or a trailing `*`."),
        methods: z
          .array(httpMethod)
          .optional()
          .describe(
            "Allowed methods; omitted means any. Standard methods, or those in `gateway.customMethods`.",
          ),
        headers: z
          .record(z.string(), stringMatcher)
          .optional()
          .describe("Headers that must match."),
        query: z
          .record(z.string(), stringMatcher)
          .optional()
          .describe("Query arguments that must match."),
        version: routeVersion,
      })
      .describe("What requests this route takes."),
    service: z.string().describe("The service that serves this route."),
    split: splitSchema(stringMatcher),
    sticky: stickySchema,
    mirror: mirrorSchema,
    deprecated: deprecatedSchema,
    priority: z
      .number()
      .int()
      .default(0)
      .describe("Higher wins; among equals the most specific match wins."),
    stripPrefix: z
      .string()
      .regex(/^\/.*[^/]$|^\/$/, "expected a path prefix starting with / and not ending in /")
      .optional()
      .describe("A prefix removed from the path before forwarding."),
    rewrite: z
      .string()
      .regex(/^\//, "expected a path starting with /")
      .optional()
      .describe(
        "The forwarded path, built from the route's parameters: `/v2/users/:id`, `/files/*`. One that could make a dot segment (`/x/..`, `/x/..*`) is refused.",
      ),
    preserveHost: z
      .boolean()
      .default(false)
      .describe("Forward the client's Host instead of the target's."),
    websocket: z.boolean().default(true).describe("Allow WebSocket upgrades on this route."),
    portal: z
      .boolean()
      .default(false)
      .describe(
        "Publish this route in the developer portal (`gateway.portal`, whose `publish: all` publishes every route).",
      ),
    plugins: z
      .array(pluginSchema)
      .default([])
      .describe(
        "Plugins for this route. A plugin named here replaces the service's or global one of the same name.",
      ),
  })
  .superRefine((route, ctx) => {
    const weights = (route.split ?? []).reduce((sum, entry) => sum + (entry.weight ?? 0), 0);
    if (weights > 100)
      ctx.addIssue({
        code: "custom",
        path: ["split"],
        message: `the split's weights add up to ${weights}, past 100 (percent of requests)`,
      });
    if (route.sticky && !route.split?.some((entry) => entry.weight !== undefined))
      ctx.addIssue({
        code: "custom",
        path: ["sticky"],
        message: "sticky keeps users on a weighted split entry: add one to split",
      });
    // A bad path is already reported where it is written; the rewrite needs good ones.
    let patterns: PathPattern[];
    try {
      patterns = route.match.paths.map(parsePathPattern);
    } catch {
      return;
    }
    try {
      compileRewrite(route, patterns);
    } catch (error) {
      const field = route.rewrite === undefined ? "stripPrefix" : "rewrite";
      ctx.addIssue({ code: "custom", path: [field], message: (error as Error).message });
    }
  })
  .describe("Which requests go to which service, and how the path is changed on the way.");
