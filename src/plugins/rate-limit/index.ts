/**
 * @module plugins/rate-limit
 * Requests per window per key (client IP, consumer, credential, route, service, header,
 * or a combination), under one or several limits at once. Every request consumes one
 * from each limit and is admitted only if all of them admit; the request over a limit is
 * answered 429 with Retry-After. Every response the plugin decided carries the
 * RateLimit-* headers of the most restrictive limit.
 *
 * Counts live in this process (`store: memory`, a synchronous decision) or in Redis
 * (`store: redis`, shared by every gateway process: one atomic script call per round
 * trip decides that trip's requests in order). With several worker threads, `memory`
 * counts per node: the supervisor thread decides (see node-counter.ts; the node's limits
 * come in the plugin's scope).
 */
import type { RequestContext } from "../../pipeline/context.ts";
import { definePlugin } from "../../pipeline/plugin.ts";
import { createStateKey } from "../../pipeline/request-state.ts";
import type { RedisTarget } from "../../stores/redis.ts";
import type { Decision } from "./decision.ts";
import { policyHeader, setRateLimitHeaders, wholeSeconds } from "./headers.ts";
import { compileKey } from "./keys.ts";
import { MemoryRateLimitStore } from "./memory-store.ts";
import { rateLimitNodeCounter } from "./node-counter.ts";
import { RedisRateLimitStore } from "./redis-store.ts";
import { limitRules, rateLimitSchema } from "./schema.ts";

const pluginName = "rate-limit";
const defaultRedisTimeoutMs = 100;
const defaultKeyPrefix = "gatehouse:";
/** The request's decision, for the RateLimit-* headers of its response. */
const decisionKey = createStateKey<Decision>(pluginName);

export const rateLimitPlugin = definePlugin({
  name: pluginName,
  schema: rateLimitSchema,
  // After authentication (1000) and acl (950), so `by: consumer` knows the consumer.
  priority: 900,
  create(config, scope) {
    const rules = limitRules(config);
    const keyOf = compileKey(config.by);
    const policy = policyHeader(rules);
    // Counting in this process is the way only without Redis or the node's shared counts,
    // or after Redis failed with `onStoreFailure: local`: the store (a few MB, sized for
    // 100,000 keys) is built when first needed, not for every instance.
    let memory: MemoryRateLimitStore | undefined;
    const local = (): MemoryRateLimitStore =>
      (memory ??= new MemoryRateLimitStore(rules, config.algorithm));
    const node = config.store === "memory" ? scope.nodeLimits : undefined;
    const definition = { rules, algorithm: config.algorithm };
    // The same in every worker for the same config, so they share one count.
    const nodeScope = `${scope.level}:${scope.name}:${config.algorithm}:${JSON.stringify([rules, config.by])}`;
    const gatewayRedis = scope.stores.redis;
    // The plugin's own `redis.url` wins over the gateway's store, whatever its mode.
    const target: RedisTarget | undefined = config.redis?.url
      ? { url: config.redis.url }
      : gatewayRedis;
    if (config.store === "redis" && target === undefined) {
      // Refused at load (runtime/compile.ts); kept safe for a config that skipped the checks.
      scope.log.warn(
        "rate-limit: store is redis but no Redis URL is configured; counting in memory",
      );
    }
    const redis =
      config.store === "redis" && target !== undefined
        ? new RedisRateLimitStore(rules, config.algorithm, {
            url: target.url,
            sentinels: target.sentinels,
            name: target.name,
            password: target.password,
            cluster: target.cluster,
            timeout: gatewayRedis?.timeout ?? defaultRedisTimeoutMs,
            keyPrefix: gatewayRedis?.keyPrefix ?? defaultKeyPrefix,
            // The same in every process, so they share counts; a global instance is one count.
            scope: `${scope.level}:${scope.name}`,
            connections: scope.redis,
            log: scope.log,
          })
        : undefined;

    const { telemetry } = scope;
    const settle = (ctx: RequestContext, decision: Decision): void => {
      ctx.set(decisionKey, decision);
      telemetry.limitDecision(ctx, decision.admitted);
      if (!decision.admitted) {
        ctx.fail("GATEHOUSE_RATE_LIMITED", undefined, {
          "retry-after": wholeSeconds(decision.retryAfterMs),
        });
      }
    };

    /** Redis did not answer in time: the configured policy decides. */
    const storeFailed = (ctx: RequestContext, key: string): void => {
      telemetry.storeFailure(ctx, config.onStoreFailure);
      if (config.onStoreFailure === "local") settle(ctx, local().decide(key));
      else if (config.onStoreFailure === "closed") ctx.fail("GATEHOUSE_RATE_LIMIT_UNAVAILABLE");
      // open: admitted, and no headers, since no count is known.
    };

    return {
      access: redis
        ? (ctx) => {
            const key = keyOf(ctx);
            return redis.decideThen(key, (decision) => {
              if (decision) settle(ctx, decision);
              else storeFailed(ctx, key);
            });
          }
        : node
          ? (ctx) =>
              node
                .count(rateLimitNodeCounter, nodeScope, definition, keyOf(ctx))
                .then((decision) => settle(ctx, decision))
          : (ctx) => settle(ctx, local().decide(keyOf(ctx))),
      onResponse: config.headers
        ? (ctx, response) => {
            const decision = ctx.get(decisionKey);
            if (decision) setRateLimitHeaders(response, decision, policy);
          }
        : undefined,
      close: redis ? () => redis.close() : undefined,
    };
  },
});
