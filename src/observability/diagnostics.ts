/**
 * @module observability/diagnostics
 * Every `diagnostics_channel` the gateway publishes on, with its name and the message it
 * carries (undici's `lib/core/diagnostics.js` is the model). They are for observers only:
 * metrics, logs, tests. Nothing in the gateway depends on a subscriber: target state moves
 * between threads through the target registry's events (runtime/target-sync), not here.
 * A publisher checks `hasSubscribers` first, so an unobserved channel costs one read.
 */
import { channel } from "node:diagnostics_channel";
import type { ActiveHealth } from "../upstream/target.ts";

/** Published on `gatehouse:upstream:health` on every active-health transition. */
export interface HealthChangeMessage {
  /** The target's URL. */
  target: string;
  from: ActiveHealth;
  to: ActiveHealth;
}

/** Active health transitions (upstream/health/active). */
export const healthChannel = channel("gatehouse:upstream:health");

/** Published on `gatehouse:upstream:ejection` each time a target is ejected. */
export interface EjectionMessage {
  /** The target's service (a URL listed by two services is two targets). */
  service: string;
  target: string;
  /** How many times it has been ejected (with forgiveness applied). */
  ejections: number;
  durationMs: number;
}

/** Outlier ejections (upstream/health/outlier). */
export const ejectionChannel = channel("gatehouse:upstream:ejection");

/**
 * Published on `gatehouse:upstream:breaker` when a breaker opens (or reopens) and when it
 * closes. Half-open is not an event: it is the clock passing `openForMs`.
 */
export interface BreakerMessage {
  /** The target's service: a URL listed by two services has a breaker in each. */
  service: string;
  target: string;
  state: "open" | "closed";
  openForMs?: number;
}

/** Circuit breaker transitions (upstream/breaker). */
export const breakerChannel = channel("gatehouse:upstream:breaker");

/** Published on `gatehouse:auth:password-check`: one message per password hash computed. */
export interface PasswordCheckMessage {
  kind: "scrypt" | "bcrypt" | "plain";
}

/**
 * Every password verification actually computed (cache hits are not), for observability
 * and for tests that must tell a remembered password from a re-hashed one without timing
 * (plugins/basic-auth/password-hash).
 */
export const passwordCheckChannel = channel("gatehouse:auth:password-check");
