/**
 * @module plugins/cache/lookup
 * The request side (beforeUpstream): find the request's entry (through its Vary marker
 * when the response varies), then answer fresh ones (HIT), serve stale ones within
 * stale-while-revalidate while one background refresh runs (STALE), or send the request
 * upstream: with the stale entry's validators to revalidate it, and as the one request
 * of its key that goes (collapsing), the others waiting for its answer. With the memory
 * store all of it is synchronous unless a request has to wait.
 */
import type { RequestContext } from "../../pipeline/context.ts";
import type { CacheEntry } from "./entry.ts";
import { answerFromEntry } from "./hit.ts";
import {
  type CacheInstance,
  type CacheRequest,
  cacheRequestKey,
  hostOf,
  policyRequestOf,
  schemeOf,
  urlOf,
} from "./instance.ts";
import { variantKey } from "./key.ts";
import { allowsAuthorized, hasValidators, mustRevalidate } from "./policy.ts";
import { refreshHeader, refreshToken } from "./refresh.ts";

type Found = CacheEntry | undefined;

export function lookup(cache: CacheInstance, ctx: RequestContext): void | Promise<void> {
  const method = ctx.method;
  const refreshValue = ctx.headers[refreshHeader];
  if (refreshValue !== undefined) ctx.setUpstreamHeader(refreshHeader, undefined);
  const state: CacheRequest = {
    status: "MISS",
    primary: "",
    policyRequest: undefined,
    stale: undefined,
    revalidating: false,
    refresh: refreshValue === refreshToken,
    answered: false,
    leader: undefined,
    storing: undefined,
  };
  ctx.set(cacheRequestKey, state);
  // An upgrade (WebSocket) is a tunnel, not a response to store or answer.
  if (
    (method !== "GET" && method !== "HEAD") ||
    ctx.headers.upgrade !== undefined ||
    /no-store/i.test(ctx.headers["cache-control"] ?? "")
  ) {
    state.status = "BYPASS";
    return;
  }
  state.primary = cache.primaryKey({
    method,
    scheme: schemeOf(ctx),
    host: hostOf(ctx),
    path: ctx.path,
    query: ctx.query,
    headers: ctx.headers,
    consumer: ctx.consumer?.name,
    apiVersion: ctx.apiVersion,
  });
  // A refresh goes upstream whatever is stored, and its answer replaces it.
  if (state.refresh) return;
  return find(cache, ctx, state, true);
}

function find(
  cache: CacheInstance,
  ctx: RequestContext,
  state: CacheRequest,
  first: boolean,
): void | Promise<void> {
  const found = cache.store.get(state.primary);
  return found instanceof Promise
    ? found.then((entry) => throughVary(cache, ctx, state, entry, first))
    : throughVary(cache, ctx, state, found, first);
}

function throughVary(
  cache: CacheInstance,
  ctx: RequestContext,
  state: CacheRequest,
  entry: Found,
  first: boolean,
): void | Promise<void> {
  if (entry?.kind !== "vary") return use(cache, ctx, state, entry, first);
  const variant = cache.store.get(variantKey(state.primary, entry.vary, ctx.headers));
  return variant instanceof Promise
    ? variant.then((found) => use(cache, ctx, state, found, first))
    : use(cache, ctx, state, variant, first);
}

function use(
  cache: CacheInstance,
  ctx: RequestContext,
  state: CacheRequest,
  entry: Found,
  first: boolean,
): void | Promise<void> {
  if (entry?.kind === "response") {
    if (ctx.headers.authorization !== undefined && !allowsAuthorized(entry.headers)) {
      state.status = "BYPASS";
      return;
    }
    const fresh = Date.now() < entry.freshUntil;
    // The common case, without asking the library: fresh, and the client set no terms.
    if (fresh && ctx.headers["cache-control"] === undefined && ctx.headers.pragma === undefined) {
      answerFromEntry(ctx, state, entry, "HIT");
      return;
    }
    if (fresh || !mustRevalidate(entry.headers)) {
      const { revalidation } = entry.policy.evaluateRequest(policyRequestOf(ctx, state));
      if (revalidation === undefined) {
        answerFromEntry(ctx, state, entry, fresh ? "HIT" : "STALE");
        return;
      }
      if (!revalidation.synchronous) {
        answerFromEntry(ctx, state, entry, "STALE");
        cache.refresh.start(state.primary, ctx, (error) =>
          cache.log.warn({ err: error, url: urlOf(ctx) }, "cache: background refresh failed"),
        );
        return;
      }
    }
    state.stale = entry;
    if (hasValidators(entry.headers)) {
      state.revalidating = true;
      ctx.setUpstreamHeader("if-none-match", entry.headers.etag);
      ctx.setUpstreamHeader(
        "if-modified-since",
        entry.headers.etag === undefined ? entry.headers["last-modified"] : undefined,
      );
    }
  }
  if (!first || !cache.collapser.enabled) return;
  const joined = cache.collapser.join(state.primary);
  if (!(joined instanceof Promise)) {
    state.leader = joined;
    return;
  }
  // Another request is fetching this key: look again once it is done (or the wait is over).
  return joined.then(() => find(cache, ctx, state, false));
}
