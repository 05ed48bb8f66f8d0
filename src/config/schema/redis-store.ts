/**
 * @module config/schema/redis-store
 * `gateway.stores.redis`: the shared Redis as one server (`url`), a Sentinel-watched
 * master group (`sentinels` + `name`) or a Redis Cluster (`cluster`), exactly one of the
 * three, plus the command timeout and key prefix every mode shares.
 */
import { z } from "zod";
import { duration, exactlyOneOf } from "./fields.ts";

const redisUrl = z.string().regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL");

/**
 * Sentinel and Cluster node URLs are plain `redis://host:port`: TLS to them is not
 * supported yet, so a `rediss://` here is refused rather than silently sent in clear.
 */
const nodeUrl = z
  .string()
  .regex(/^redis:\/\/([^@/]*@)?[^:@/]+:\d+\/?$/, "must be a redis://[user:password@]host:port URL");

const modes = ["url", "sentinels", "cluster"] as const;

export const redisStoreSchema = z
  .strictObject({
    url: redisUrl
      .optional()
      .describe("One server: `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS."),
    sentinels: z
      .array(nodeUrl)
      .min(1)
      .optional()
      .describe(
        "Redis Sentinel: `redis://[user:password@]host:port` of each Sentinel (credentials authenticate to the Sentinels); Gatehouse asks them for the current master of `name` and follows failovers.",
      ),
    name: z
      .string()
      .min(1)
      .optional()
      .describe("With `sentinels`: the master group name (`sentinel monitor NAME ...`)."),
    password: z.string().min(1).optional().describe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the docs show the literal syntax
      "With `sentinels`: the password of the master and replicas (`requirepass`); best from `${env:…}` or `${file:…}`.",
    ),
    cluster: z
      .array(nodeUrl)
      .min(1)
      .optional()
      .describe(
        "Redis Cluster: `redis://[user:password@]host:port` of one or more nodes (the rest are discovered); credentials apply to every node.",
      ),
    timeout: duration("100ms").describe(
      "How long a request waits for a store command, from the moment it asks, before it counts as a store failure.",
    ),
    keyPrefix: z
      .string()
      .default("gatehouse:")
      .describe("Prefix of every key Gatehouse writes, to share a Redis safely."),
  })
  .superRefine((redis, ctx) => {
    exactlyOneOf(redis, modes, ctx, {
      verb: "give",
      choices: "url, sentinels (with name) or cluster",
    });
    if (redis.sentinels !== undefined && redis.name === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["sentinels"],
        message: "sentinels needs `name`, the master group name",
      });
    }
    for (const key of ["name", "password"] as const) {
      if (redis[key] !== undefined && redis.sentinels === undefined) {
        ctx.addIssue({ code: "custom", path: [key], message: `${key} goes with sentinels` });
      }
    }
  });
