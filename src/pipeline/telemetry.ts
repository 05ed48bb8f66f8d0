/**
 * @module pipeline/telemetry
 * What a plugin may count, as `scope.telemetry`: limit decisions, store failures and
 * authentication failures, each labelled by the request's route and a value from a fixed
 * set, so a plugin can never add a label value a dashboard does not expect. With metrics
 * off the plugin gets `silentTelemetry`, whose methods do nothing.
 */
import type { ErrorCode } from "../errors.ts";
import type { RequestContext } from "./context.ts";

/** Why an authentication or authorization plugin refused a request. */
export type AuthFailureReason =
  | "missing"
  | "invalid"
  | "expired"
  | "claims"
  | "forbidden"
  | "unavailable";

export const authFailureReasons: readonly AuthFailureReason[] = [
  "missing",
  "invalid",
  "expired",
  "claims",
  "forbidden",
  "unavailable",
];

/** What a limiter does when its shared store cannot answer (`onStoreFailure`). */
export type StoreFallback = "open" | "closed" | "local";

export const storeFallbacks: readonly StoreFallback[] = ["open", "closed", "local"];

/** What a cache did with a request (its `X-Cache-Status`). */
export type CacheStatus = "HIT" | "MISS" | "STALE" | "BYPASS" | "REVALIDATED";

export const cacheStatuses: readonly CacheStatus[] = [
  "HIT",
  "MISS",
  "STALE",
  "BYPASS",
  "REVALIDATED",
];

/** The counters one plugin (by name) writes to; the plugin label is its own name. */
export interface PluginTelemetry {
  /** A limiter admitted (`true`) or refused (`false`) the request. */
  limitDecision(ctx: RequestContext, allowed: boolean): void;
  /** The shared store (Redis) failed or timed out; `fallback` is what was done instead. */
  storeFailure(ctx: RequestContext, fallback: StoreFallback): void;
  /** The plugin refused the request for `reason`. */
  authFailure(ctx: RequestContext, reason: AuthFailureReason): void;
  /** A cache answered (or passed on) the request as `status` says. */
  cacheStatus(ctx: RequestContext, status: CacheStatus): void;
  /**
   * Adds `read` (the bytes a cache store holds) to the stored-bytes gauge, read at each
   * scrape; the returned function takes it out again (when the store closes).
   */
  cacheStoredBytes(read: () => number): () => void;
}

/** Hands each plugin its telemetry, by plugin name (the gateway's metrics, when on). */
export interface PluginTelemetrySource {
  forPlugin(name: string): PluginTelemetry;
}

/** Telemetry that counts nothing: for gateways with metrics off, and for tests. */
export const silentTelemetry: PluginTelemetry = {
  limitDecision() {},
  storeFailure() {},
  authFailure() {},
  cacheStatus() {},
  cacheStoredBytes: () => () => {},
};

/** The source for gateways with metrics off. */
export const silentTelemetrySource: PluginTelemetrySource = { forPlugin: () => silentTelemetry };

/** The reason an authentication error code stands for (a token that fails, say). */
export function authFailureReason(code: ErrorCode): AuthFailureReason {
  switch (code) {
    case "GATEHOUSE_TOKEN_EXPIRED":
      return "expired";
    case "GATEHOUSE_TOKEN_CLAIMS_REJECTED":
      return "claims";
    case "GATEHOUSE_FORBIDDEN":
      return "forbidden";
    case "GATEHOUSE_AUTH_UNAVAILABLE":
      return "unavailable";
    default:
      return "invalid";
  }
}
