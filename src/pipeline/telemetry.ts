/**
 * @module pipeline/telemetry
 * What a plugin may count, as `scope.telemetry`: limit decisions, store failures and
 * authentication failures, each labelled by the request's route and a value from a fixed
 * set, so a plugin can never add a label value a dashboard does not expect. With metrics
 * off the plugin gets `silentTelemetry`, whose methods do nothing.
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

/** The counters one plugin (by name) writes to; the plugin label is its own name. */
export interface PluginTelemetry {
  /** A limiter admitted (`true`) or refused (`false`) the request. */
  limitDecision(ctx: RequestContext, allowed: boolean): void;
  /** The shared store (Redis) failed or timed out; `fallback` is what was done instead. */
  storeFailure(ctx: RequestContext, fallback: StoreFallback): void;
  /** The plugin refused the request for `reason`. */
  authFailure(ctx: RequestContext, reason: AuthFailureReason): void;
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
