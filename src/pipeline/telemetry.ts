/**
 * @module pipeline/telemetry
 * What a plugin may count, as `scope.telemetry`: limit decisions, store failures,
 * authentication failures, validation results, bodies a transformer left untouched and
 * threat rule matches, each labelled by the request's route and a value from a fixed set,
 * so a plugin can never add a label value a dashboard does not expect. With metrics off
 * the plugin gets `silentTelemetry`, whose methods do nothing.
 */
import type { ErrorCode } from "../errors.ts";
import type { MirrorOutcome } from "../traffic/mirror.ts";
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

/** What checking a request against an API description found. */
export type ValidationResult = "valid" | "invalid" | "unknown";

export const validationResults: readonly ValidationResult[] = ["valid", "invalid", "unknown"];

/** Whether a validator refuses what does not match (`enforce`) or only reports it. */
export type ValidationMode = "enforce" | "report";
/** Why a body transformer passed a body on untouched: compressed, or not the JSON it says. */
export type BodyUntouchedReason = "encoded" | "unparsable";

export const bodyUntouchedReasons: readonly BodyUntouchedReason[] = ["encoded", "unparsable"];

/** What a threat rule's match led to: the request refused, or only logged and counted. */
export type ThreatAction = "blocked" | "reported";

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
  /**
   * A validator checked the request: it matched, did not (`invalid`), or the description has
   * no operation for it (`unknown`).
   */
  requestValidation(ctx: RequestContext, mode: ValidationMode, result: ValidationResult): void;
  /** A validator checked the upstream's response. */
  responseValidation(ctx: RequestContext, result: "valid" | "invalid"): void;
  /** A body the plugin was configured to edit went through untouched, for `reason`. */
  bodyUntouched(ctx: RequestContext, reason: BodyUntouchedReason): void;
  /** A threat rule matched; `rule` is an id from the plugin's own fixed list of rules. */
  threatMatch(ctx: RequestContext, rule: string, action: ThreatAction): void;
}

/** Hands each plugin its telemetry, by plugin name (the gateway's metrics, when on). */
export interface PluginTelemetrySource {
  forPlugin(name: string): PluginTelemetry;
  /** A route's mirror copy ended (see traffic/mirror); absent when nothing counts them. */
  mirrored?(route: string, outcome: MirrorOutcome): void;
}

/** Telemetry that counts nothing: for gateways with metrics off, and for tests. */
export const silentTelemetry: PluginTelemetry = {
  limitDecision() {},
  storeFailure() {},
  authFailure() {},
  cacheStatus() {},
  cacheStoredBytes: () => () => {},
  requestValidation() {},
  responseValidation() {},
  bodyUntouched() {},
  threatMatch() {},
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
