/**
 * @module plugins/cache/instance
 * What one configured cache plugin holds (its store, key builder, collapser, refresher),
 * and the per-request state its hooks pass along, from the lookup to the response.
 */
import type { TLSSocket } from "node:tls";
import type { Logger } from "../../observability/logger.ts";
import type { RequestContext } from "../../pipeline/context.ts";
import { createStateKey } from "../../pipeline/request-state.ts";
import type { CacheStatus, PluginTelemetry } from "../../pipeline/telemetry.ts";
import type { Leader, MissCollapser } from "./collapse.ts";
import type { CachedResponse } from "./entry.ts";
import type { PrimaryKey } from "./key.ts";
import { type PolicyRequest, policyRequest, type TtlOptions } from "./policy.ts";
import type { BackgroundRefresh } from "./refresh.ts";
import type { CacheConfig } from "./schema.ts";
import type { CacheStore } from "./store.ts";

export interface CacheInstance {
  config: CacheConfig;
  ttl: TtlOptions;
  store: CacheStore;
  primaryKey: PrimaryKey;
  collapser: MissCollapser;
  refresh: BackgroundRefresh;
  telemetry: PluginTelemetry;
  log: Logger;
}

/** One request's way through the cache. */
export interface CacheRequest {
  status: CacheStatus;
  primary: string;
  /** The request as the policies see it, made when first asked for (see policyRequestOf). */
  policyRequest: PolicyRequest | undefined;
  /** An entry that could not be used as it is: revalidated, or served if the upstream fails. */
  stale: CachedResponse | undefined;
  /** The upstream was sent the stale entry's validators. */
  revalidating: boolean;
  /** A background refresh (see refresh.ts): counted nowhere. */
  refresh: boolean;
  /** The cache answered (a hit, stale, revalidated): its own answer passes its hooks. */
  answered: boolean;
  /** This request leads its key's concurrent misses (see collapse.ts). */
  leader: Leader | undefined;
  /** The store of its response, while under way. */
  storing: Promise<void> | undefined;
}

export const cacheRequestKey = createStateKey<CacheRequest>("cache");

export function policyRequestOf(ctx: RequestContext, state: CacheRequest): PolicyRequest {
  state.policyRequest ??= policyRequest(ctx.headers);
  return state.policyRequest;
}

export function schemeOf(ctx: RequestContext): "http" | "https" {
  return (ctx.req.socket as TLSSocket).encrypted ? "https" : "http";
}

export function hostOf(ctx: RequestContext): string {
  return ctx.headers.host ?? (ctx.headers[":authority"] as string | undefined) ?? "";
}

/** `scheme://host/path?query` as the client asked: what purges by URL and prefix match. */
export function urlOf(ctx: RequestContext): string {
  const query = ctx.query;
  return `${schemeOf(ctx)}://${hostOf(ctx)}${ctx.path}${query === "" ? "" : `?${query}`}`;
}

/** Lets the requests waiting on this one go, once its response is stored (or is not to be). */
export function releaseLeader(state: CacheRequest): void {
  const leader = state.leader;
  if (leader === undefined) return;
  state.leader = undefined;
  if (state.storing) state.storing.finally(() => leader.release());
  else leader.release();
}
