/**
 * @module plugins/cache
 * A shared HTTP cache (RFC 9111, through http-cache-semantics) in front of the route's
 * upstream: storable responses to GET are kept by a key made of the request's parts (see
 * key.ts) and answered from the store while fresh (`X-Cache-Status: HIT`); stale ones are
 * revalidated with their ETag / Last-Modified (REVALIDATED), served while one background
 * refresh runs (stale-while-revalidate: STALE) or when the upstream fails
 * (stale-if-error: STALE). Concurrent misses for one key send one request upstream.
 *
 * Entries live in this process (`store: memory`, an LRU bounded in bytes; a hit is
 * answered synchronously) or in Redis (`store: redis`, shared by every node: a purge
 * through any node's admin API reaches all). `DELETE /cache` on the admin API purges by
 * URL, URL prefix or tag (see registry.ts).
 */
import { definePlugin } from "../../pipeline/plugin.ts";
import type { RedisTarget } from "../../stores/redis.ts";
import { MissCollapser } from "./collapse.ts";
import { type CacheInstance, cacheRequestKey, releaseLeader } from "./instance.ts";
import { compilePrimaryKey } from "./key.ts";
import { lookup } from "./lookup.ts";
import { RedisCacheStore } from "./redis-store.ts";
import { BackgroundRefresh } from "./refresh.ts";
import { acquireMemoryStore, registerStore, releaseStore } from "./registry.ts";
import { onCacheFailure, onCacheResponse } from "./response.ts";
import { cacheSchema } from "./schema.ts";
import type { CacheStore } from "./store.ts";

const pluginName = "cache";
const defaultRedisTimeoutMs = 100;
const defaultKeyPrefix = "gatehouse:";

export const cachePlugin = definePlugin({
  name: pluginName,
  schema: cacheSchema,
  // Its lookup runs in beforeUpstream, after every access check whatever the priority;
  // low, so its onResponse (which runs lowest first) sees the upstream's own headers.
  priority: 50,
  create(config, scope) {
    const place = `${scope.level}:${scope.name}`;
    const gatewayRedis = scope.stores.redis;
    const target: RedisTarget | undefined = config.redis?.url
      ? { url: config.redis.url }
      : gatewayRedis;
    let store: CacheStore;
    let close: () => void;
    if (config.store === "redis" && target !== undefined) {
      const redis = new RedisCacheStore({
        url: target.url,
        sentinels: target.sentinels,
        name: target.name,
        password: target.password,
        cluster: target.cluster,
        timeout: gatewayRedis?.timeout ?? defaultRedisTimeoutMs,
        keyPrefix: gatewayRedis?.keyPrefix ?? defaultKeyPrefix,
        scope: place,
        connections: scope.redis,
        log: scope.log,
      });
      registerStore(scope.redis, redis);
      store = redis;
      close = () => {
        releaseStore(scope.redis, redis);
        redis.close();
      };
    } else {
      if (config.store === "redis") {
        // Refused at load (runtime/compile.ts); kept safe for a config that skipped the checks.
        scope.log.warn("cache: store is redis but no Redis URL is configured; caching in memory");
      }
      const memory = acquireMemoryStore(scope.redis, place, config.maxSize);
      const stopGauge = scope.telemetry.cacheStoredBytes(() => memory.storedBytes());
      store = memory;
      close = () => {
        stopGauge();
        releaseStore(scope.redis, memory);
      };
    }
    const cache: CacheInstance = {
      config,
      ttl: { ttl: config.ttl, defaultTtl: config.defaultTtl },
      store,
      primaryKey: compilePrimaryKey(config.key),
      collapser: new MissCollapser(config.collapseTimeout),
      refresh: new BackgroundRefresh(),
      telemetry: scope.telemetry,
      log: scope.log,
    };
    const { telemetry } = scope;

    return {
      beforeUpstream: (ctx) => lookup(cache, ctx),
      onResponse: (ctx, response) => onCacheResponse(cache, ctx, response),
      onUpstreamFailure: (ctx) => onCacheFailure(ctx),
      onLog: (ctx) => {
        const state = ctx.get(cacheRequestKey);
        if (state === undefined) return;
        releaseLeader(state);
        if (!state.refresh) telemetry.cacheStatus(ctx, state.status);
      },
      describe: () => ({ store: store.kind, storedBytes: store.storedBytes() }),
      close,
    };
  },
});
