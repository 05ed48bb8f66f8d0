/**
 * @module plugins/rate-limit/schema
 * The rate-limit plugin's config: one limit (`limit` + `window`) or several (`limits`),
 * the algorithm, what to count per, where counts live and what to do when that store
 * fails. Whether a Redis is configured somewhere is checked at load with the rest of
 * the config (runtime/compile.ts), since this schema cannot see `gateway.stores`.
 */
import { z } from "zod";
import { durationText } from "../../config/schema/fields.ts";
import { parseDuration } from "../../config/units.ts";
import type { LimitRule } from "./decision.ts";

const limitCount = z.number().int().min(1).describe("Requests admitted per window.");

const window = durationText
  .refine((text) => parseDuration(text)! > 0, { message: "a window must be longer than 0" })
  .transform((text) => parseDuration(text)!)
  .describe("The window the limit applies to, e.g. `1s`, `1m`, `1h`.");

const keyPart = z.union([
  z.enum(["ip", "consumer", "credential", "route", "service"]),
  z.strictObject({ header: z.string().min(1).describe("Request header whose value is the key.") }),
]);

export const rateLimitSchema = z
  .strictObject({
    limit: limitCount.optional(),
    window: window.optional(),
    limits: z
      .array(z.strictObject({ limit: limitCount, window }))
      .min(1)
      .optional()
      .describe(
        "Several limits, all applied: `[{ limit: 10, window: 1s }, { limit: 1000, window: 1h }]`.",
      ),
    algorithm: z
      .enum(["sliding-window", "token-bucket"])
      .default("sliding-window")
      .describe(
        "`sliding-window`: at most `limit` in any window-long interval. `token-bucket`: bursts of `limit`, refilled at `limit` per window.",
      ),
    by: z
      .union([keyPart, z.array(keyPart).min(1)])
      .default("ip")
      .describe(
        "What a key is: `ip`, `consumer`, `credential`, `route`, `service`, `{ header: NAME }`, or a list of them combined. A part that cannot be formed falls back to the client IP.",
      ),
    store: z
      .enum(["memory", "redis"])
      .default("memory")
      .describe(
        "`memory`: counts per gateway process. `redis`: counts shared by every process using the Redis.",
      ),
    redis: z
      .strictObject({
        url: z
          .string()
          .regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")
          .describe("Overrides `gateway.stores.redis.url` for this plugin."),
      })
      .optional()
      .describe("This plugin's own Redis, instead of `gateway.stores.redis`."),
    onStoreFailure: z
      .enum(["open", "closed", "local"])
      .default("local")
      .describe(
        "When Redis fails or times out: `open` admits, `closed` answers 503, `local` applies the limits in this process's memory.",
      ),
    headers: z
      .boolean()
      .default(true)
      .describe("Send RateLimit-Limit, -Remaining, -Reset and -Policy on every response."),
  })
  .superRefine((config, ctx) => {
    const single = config.limit !== undefined || config.window !== undefined;
    if (config.limits !== undefined && single) {
      ctx.addIssue({
        code: "custom",
        path: ["limits"],
        message: "give either `limits` or `limit` and `window`, not both",
      });
    } else if (config.limits === undefined) {
      for (const key of ["limit", "window"] as const) {
        if (config[key] === undefined) {
          ctx.addIssue({
            code: "custom",
            path: single ? [key] : [],
            message: single
              ? `\`${key}\` is required with \`${key === "limit" ? "window" : "limit"}\``
              : "give `limit` and `window`, or `limits`",
          });
          if (!single) break;
        }
      }
    }
  });

export type RateLimitConfig = z.output<typeof rateLimitSchema>;

/** The configured limits as rules, whichever form they were given in. */
export function limitRules(config: RateLimitConfig): LimitRule[] {
  if (config.limits) return config.limits.map(({ limit, window }) => ({ limit, windowMs: window }));
  return [{ limit: config.limit!, windowMs: config.window! }];
}
