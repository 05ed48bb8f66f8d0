/**
 * @module config/schema/traffic
 * How a route shares and copies its traffic, and how it is versioned: `gateway.versioning`
 * (where a request names its API version), and a route's `split`, `sticky`, `mirror` and
 * `deprecated`.
 */
import { z } from "zod";
import { duration, exactlyOneOf } from "./fields.ts";

const versionValue = z
  .string()
  .regex(/^[A-Za-z0-9._-]+$/, "expected a version like 1, 2 or 2024-01 (letters, digits, . _ -)");

/** A template with exactly one `{version}` in it. */
const versionTemplate = (what: string) =>
  z.string().refine((text) => text.split("{version}").length === 2, {
    message: `expected ${what} with {version} in it once`,
  });

export const versioningSchema = z
  .strictObject({
    header: z
      .string()
      .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "expected a header name")
      .optional()
      .describe("The request header that names the version: `Api-Version: 2`."),
    accept: versionTemplate("a media type")
      .optional()
      .describe(
        "A media type in `Accept` that names the version: `application/vnd.shop.v{version}+json`.",
      ),
    path: versionTemplate("a path segment")
      .regex(/^\/[^/]*$/, "expected one leading path segment like /v{version}")
      .optional()
      .describe(
        "A leading path segment that names the version: `/v{version}` takes `/v2/orders` as version 2 of `/orders`. The segment is removed before routes are matched and before the request is forwarded. A version in the path starts with a digit.",
      ),
    query: z
      .string()
      .min(1)
      .optional()
      .describe("The query argument that names the version: `?version=2`."),
    default: versionValue
      .optional()
      .describe(
        "The version of a request that names none. Without it, such a request is served only by routes without `match.version`.",
      ),
  })
  .superRefine((versioning, ctx) => {
    exactlyOneOf(versioning, ["header", "accept", "path", "query"], ctx, { verb: "set" });
  })
  .optional()
  .describe(
    "API versions: where a request names the version it wants; routes take versions with `match.version` (see docs/traffic.md).",
  );

export const routeVersion = z
  .union([versionValue, z.array(versionValue).min(1)])
  .optional()
  .describe(
    "The API versions this route serves (`gateway.versioning` says where a request names one); omitted means any.",
  );

const stringMatcherRecord = <M extends z.ZodType>(what: string, matcher: M) =>
  z.record(z.string(), matcher).optional().describe(`${what} that must match.`);

/** The split entries; the string matcher is the routes' own (passed in to avoid a cycle). */
export const splitSchema = <M extends z.ZodType>(stringMatcher: M) =>
  z
    .array(
      z
        .strictObject({
          service: z.string().min(1).describe("The service this entry sends requests to."),
          weight: z
            .number()
            .min(0)
            .max(100)
            .optional()
            .describe(
              "Percent of the requests no rule entry took (0–100; decimals allowed). The rest go to the route's `service`.",
            ),
          match: z
            .strictObject({
              headers: stringMatcherRecord("Request headers", stringMatcher),
              cookies: stringMatcherRecord("Request cookies", stringMatcher),
              consumer: z
                .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
                .optional()
                .describe("The consumer (or one of the consumers) an authentication plugin named."),
            })
            .optional()
            .describe(
              "A rule: requests that match all of it go to this entry's service. Rules are checked before weights, in order.",
            ),
        })
        .superRefine((entry, ctx) => {
          exactlyOneOf(entry, ["weight", "match"], ctx, { verb: "set" });
        }),
    )
    .min(1)
    .optional()
    .describe(
      "Sends some of the route's requests to other services: rule entries (`match`) first, then weighted ones (`weight` percent); the rest go to `service`. Each service keeps its own health checks, breaker and retries.",
    );

export const stickySchema = z
  .enum(["cookie", "consumer"])
  .optional()
  .describe(
    "Keeps one user on one weighted choice of `split`: `cookie` (the gateway records the user's bucket in a cookie) or `consumer` (a hash of the consumer's name).",
  );

export const mirrorSchema = z
  .strictObject({
    service: z.string().min(1).describe("The service that receives the copies."),
    ratio: z.number().min(0).max(1).default(1).describe("The share of requests copied, 0–1."),
    timeout: duration("2s").describe("How long a copy may take before it is abandoned."),
    maxInFlight: z
      .number()
      .int()
      .min(1)
      .default(100)
      .describe(
        "Copies under way at once, per gateway thread; past it a copy is dropped (and counted), never queued.",
      ),
  })
  .optional()
  .describe(
    "Copies a sample of the route's requests to another service, fire-and-forget: its answers are discarded and counted, its failures never reach the client. Requests with a body are copied when the body is at most 64 KiB.",
  );

/** A calendar day, `YYYY-MM-DD`, that exists (no 30 February). */
const day = (example: string) =>
  z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, `expected a date like ${example}`)
    .refine(
      (text) => {
        const time = Date.parse(`${text}T00:00:00Z`);
        return !Number.isNaN(time) && new Date(time).toISOString().startsWith(text);
      },
      {
        message: "not a day of the calendar",
      },
    );

export const deprecatedSchema = z
  .strictObject({
    since: day("2026-01-31")
      .optional()
      .describe(
        "When the route was deprecated (`Deprecation: @<seconds>`); omitted, `Deprecation: @0` says it is deprecated already.",
      ),
    sunset: day("2027-06-30")
      .optional()
      .describe("When the route stops being served (`Sunset`, an HTTP date)."),
    link: z
      .string()
      .min(1)
      .optional()
      .describe('A page about the deprecation (`Link: <...>; rel="deprecation"`).'),
  })
  .optional()
  .describe(
    "Marks the route deprecated: its responses carry `Deprecation` (RFC 9745) and, with `sunset`, `Sunset` (RFC 8594).",
  );
