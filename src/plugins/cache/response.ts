/**
 * @module plugins/cache/response
 * The response side (onResponse, onUpstreamFailure): a 304 to a revalidation refreshes
 * the stored entry and answers from it (REVALIDATED); a 5xx, or an upstream that could
 * not be reached, is answered with the stale entry within its stale-if-error window; any
 * other response is marked MISS (or BYPASS) and, when RFC 9111 lets a shared cache
 * store it, copied as it streams to the client (up to `maxObjectSize`) and stored.
 */
import type { RequestContext } from "../../pipeline/context.ts";
import type { ResponseView } from "../../pipeline/plugin.ts";
import { findHeader } from "../../proxy/headers.ts";
import { BodyCapture } from "./capture.ts";
import { type CachedResponse, type StoredParts, storedHeaders, timed } from "./entry.ts";
import { answerFromEntry } from "./hit.ts";
import {
  type CacheInstance,
  type CacheRequest,
  cacheRequestKey,
  policyRequestOf,
  releaseLeader,
  urlOf,
} from "./instance.ts";
import { variantKey } from "./key.ts";
import {
  allowsAuthorized,
  hasValidators,
  refreshedHeaders,
  responsePolicy,
  staleIfErrorUsable,
} from "./policy.ts";

/** How long an entry with validators is kept past its usefulness, for revalidation. */
const keepForRevalidationMs = 3_600_000;
/**
 * Statuses never stored: those without a body to copy, and 206 (a part of the resource;
 * http-cache-semantics refuses it too): a Range request is answered whole from a hit.
 */
const notStored = new Set([204, 205, 206, 304]);

export function onCacheResponse(
  cache: CacheInstance,
  ctx: RequestContext,
  response: ResponseView,
): void {
  const state = ctx.get(cacheRequestKey);
  if (state === undefined || state.answered) return;
  const { headers } = response;
  const tags = takeTags(headers, cache.config.tagHeader);
  if (state.status === "BYPASS") {
    headers.push("x-cache-status", "BYPASS");
    releaseLeader(state);
    return;
  }
  const stale = state.stale;
  if (stale !== undefined && state.revalidating && response.status === 304) {
    const update = storedHeaders(headers, cache.config.tagHeader);
    revalidated(cache, ctx, state, stale, update, withAge(update, headers));
    return;
  }
  if (stale !== undefined && response.status >= 500 && staleIfErrorUsable(stale)) {
    answerFromEntry(ctx, state, stale, "STALE");
    releaseLeader(state);
    return;
  }
  headers.push("x-cache-status", "MISS");
  store(cache, ctx, state, response, tags);
  // Not stored: the requests waiting on this one go upstream themselves, now.
  if (state.storing === undefined && !capturing.has(state)) releaseLeader(state);
}

/** The upstream could not be reached: the stale entry, within its stale-if-error window. */
export function onCacheFailure(ctx: RequestContext): void {
  const state = ctx.get(cacheRequestKey);
  if (state === undefined) return;
  if (state.stale !== undefined && staleIfErrorUsable(state.stale)) {
    answerFromEntry(ctx, state, state.stale, "STALE");
  }
  releaseLeader(state);
}

/** Requests whose body is being copied (their leader is released when it is stored). */
const capturing = new WeakSet<CacheRequest>();

function store(
  cache: CacheInstance,
  ctx: RequestContext,
  state: CacheRequest,
  response: ResponseView,
  tags: string[],
): void {
  const { config } = cache;
  if (ctx.method !== "GET" || notStored.has(response.status)) return;
  const headers = storedHeaders(response.headers, config.tagHeader);
  if (headers["set-cookie"] !== undefined) return;
  if (ctx.headers.authorization !== undefined && !allowsAuthorized(headers)) return;
  const vary = varyNames(headers.vary);
  if (vary === undefined) return;
  const length = lengthOf(response.headers);
  if (length !== undefined && Number(length) > config.maxObjectSize) return;
  const policy = responsePolicy(
    policyRequestOf(ctx, state),
    response.status,
    withAge(headers, response.headers),
    cache.ttl,
  );
  if (!policy.storable()) return;
  let ttl = policy.timeToLive();
  if (hasValidators(headers)) ttl = Math.max(ttl, keepForRevalidationMs);
  if (ttl <= 0) return;
  const parts: StoredParts = {
    kind: "response",
    url: urlOf(ctx),
    tags,
    status: response.status,
    headers,
    body: Buffer.alloc(0),
    policy,
    vary,
  };
  capturing.add(state);
  const capture = new BodyCapture(config.maxObjectSize, (body) => {
    capturing.delete(state);
    if (body !== undefined) {
      state.storing = keep(cache, state, timed({ ...parts, body }), ttl, ctx);
    }
    releaseLeader(state);
  });
  // The copy's own bound is maxObjectSize; the body itself passes on whatever its size.
  ctx.transformResponseBody(capture, { maxSize: Number.MAX_SAFE_INTEGER });
}

/** Stores the entry (and, when it varies, the marker naming its headers). */
function keep(
  cache: CacheInstance,
  state: CacheRequest,
  entry: CachedResponse,
  ttl: number,
  ctx: RequestContext,
): Promise<void> | undefined {
  const { store } = cache;
  if (entry.vary.length === 0) {
    const done = store.set(state.primary, entry, ttl);
    return done instanceof Promise ? done : undefined;
  }
  const marker = { kind: "vary" as const, url: entry.url, tags: entry.tags, vary: entry.vary };
  const first = store.set(state.primary, marker, ttl);
  const second = store.set(variantKey(state.primary, entry.vary, ctx.headers), entry, ttl);
  return first instanceof Promise || second instanceof Promise
    ? Promise.all([first, second]).then(() => {})
    : undefined;
}

/** A 304 to the cache's own conditional request: the entry refreshed, and answered from. */
function revalidated(
  cache: CacheInstance,
  ctx: RequestContext,
  state: CacheRequest,
  stale: CachedResponse,
  update: Record<string, string>,
  updateWithAge: Record<string, string>,
): void {
  const { policy } = stale.policy.revalidatedPolicy(policyRequestOf(ctx, state), {
    status: 304,
    headers: updateWithAge,
  });
  const refreshed = timed({
    kind: "response",
    url: stale.url,
    tags: stale.tags,
    status: stale.status,
    body: stale.body,
    vary: stale.vary,
    headers: refreshedHeaders(stale.headers, update),
    policy,
  });
  let ttl = policy.timeToLive();
  if (hasValidators(refreshed.headers)) ttl = Math.max(ttl, keepForRevalidationMs);
  state.storing = keep(cache, state, refreshed, ttl, ctx);
  answerFromEntry(ctx, state, refreshed, "REVALIDATED");
  releaseLeader(state);
}

/** The Vary names besides Accept-Encoding, sorted; undefined for `Vary: *` (never stored). */
function varyNames(vary: string | undefined): string[] | undefined {
  if (vary === undefined) return [];
  const names = new Set<string>();
  for (const item of vary.split(",")) {
    const name = item.trim().toLowerCase();
    if (name === "*") return undefined;
    if (name !== "" && name !== "accept-encoding") names.add(name);
  }
  return [...names].sort();
}

/**
 * The stored headers with the upstream's Age, for the policy: a hit sends an Age of its
 * own, counted from it, so the upstream's is not among the stored headers.
 */
function withAge(
  stored: Record<string, string>,
  headers: readonly string[],
): Record<string, string> {
  const at = findHeader(headers, "age");
  return at === -1 ? stored : { ...stored, age: headers[at + 1]! };
}

function lengthOf(headers: readonly string[]): string | undefined {
  const at = findHeader(headers, "content-length");
  return at === -1 ? undefined : headers[at + 1];
}

/** The response's purge tags, taken out of its headers: they are not the client's business. */
function takeTags(headers: string[], tagHeader: string): string[] {
  const tags: string[] = [];
  let kept = 0;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === tagHeader) {
      for (const tag of headers[i + 1]!.split(/[\s,]+/)) if (tag !== "") tags.push(tag);
      continue;
    }
    headers[kept++] = headers[i]!;
    headers[kept++] = headers[i + 1]!;
  }
  headers.length = kept;
  return tags;
}
