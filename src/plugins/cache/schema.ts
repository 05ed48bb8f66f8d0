/**
 * @module plugins/cache/schema
 * The cache plugin's config: where entries live and how large they may be, TTL overrides,
 * what a cache key is made of, the purge tag header and how long concurrent misses wait
 * for the first one. Whether a Redis is configured is checked at load with the rest of
 * the config (runtime/compile.ts), since this schema cannot see `gateway.stores`.
 */
import { z } from "zod";
import { durationText, size } from "../../config/schema/fields.ts";
import { parseDuration } from "../../config/units.ts";

const seconds = (what: string) =>
  durationText
    .transform((text) => Math.floor(parseDuration(text)! / 1000))
    .optional()
    .describe(what);

const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "must be an HTTP header name")
  .transform((name) => name.toLowerCase());

export const cacheKeySchema = z
  .strictObject({
    query: z
      .union([z.enum(["all", "none"]), z.array(z.string().min(1)).min(1)])
      .default("all")
      .describe(
        "Which query arguments are part of the key: `all` (sorted, so their order does not matter), `none`, or a list of names.",
      ),
    headers: z
      .array(headerName)
      .default([])
      .describe(
        "Request headers whose values are part of the key, besides those the response names in `Vary` and Accept-Encoding, which always are.",
      ),
    consumer: z
      .boolean()
      .default(false)
      .describe("Each consumer (see authentication plugins) gets entries of its own."),
  })
  .prefault({});

export const cacheSchema = z.strictObject({
  store: z
    .enum(["memory", "redis"])
    .default("memory")
    .describe(
      "`memory`: entries in this process, an LRU bounded by `maxSize`. `redis`: entries in `gateway.stores.redis`, shared by every node using it.",
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
  maxSize: size("64mb")
    .refine((bytes) => bytes > 0, { message: "must be more than 0 bytes" })
    .describe(
      "With `store: memory`: the most bytes (bodies and headers) the entries take; the least recently used go first.",
    ),
  maxObjectSize: size("1mb")
    .refine((bytes) => bytes > 0, { message: "must be more than 0 bytes" })
    .describe("Responses with larger bodies are passed on, streamed, and not stored."),
  ttl: seconds(
    "Overrides the upstream's freshness lifetime (max-age, s-maxage, Expires) for every storable response, e.g. `30s`.",
  ),
  defaultTtl: seconds(
    "The freshness lifetime of storable responses that give none (no max-age, s-maxage or Expires); without it they are fresh only by the Last-Modified heuristic.",
  ),
  key: cacheKeySchema.describe("What one cache entry is made of."),
  tagHeader: headerName
    .default("cache-tag")
    .describe(
      "The response header naming the entry's tags (comma or space separated), for `DELETE /cache?tag=` on the admin API; not sent to the client.",
    ),
  collapseTimeout: durationText
    .default("5s")
    .transform((text) => parseDuration(text)!)
    .describe(
      "Concurrent misses for one key send one request upstream; the others wait this long for its answer, then go upstream themselves. `0s` turns collapsing off.",
    ),
});

export type CacheConfig = z.output<typeof cacheSchema>;
export type CacheKeyConfig = z.output<typeof cacheKeySchema>;
