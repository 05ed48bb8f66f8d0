/**
 * @module upstream/outcome
 * What one try against a target came to, as the proxy reports it to the target's
 * breaker, outlier detector and latency estimate.
 */

/** How a try ended, from the target's point of view. */
export type OutcomeKind =
  /** A response below 500 (or a 5xx the service does not count as failure). */
  | "success"
  /** A 5xx response. */
  | "server-error"
  /** The connection could not be opened. */
  | "connect-failure"
  /** No response (headers, body chunk or total) in time. */
  | "timeout"
  /** The connection broke or the response was malformed. */
  | "reset";

export interface Outcome {
  kind: OutcomeKind;
  /** From sending the request to the response headers (or to the failure). */
  durationMs: number;
}

/** Anything that learns from outcomes: a breaker, an outlier detector, a latency estimate. */
export interface OutcomeObserver {
  record(outcome: Outcome): void;
}

/** Whether an outcome counts against the target. */
export function isFailure(outcome: Outcome): boolean {
  return outcome.kind !== "success";
}

/**
 * Whether the try got no answer from the target at all: the connection could not be
 * opened, broke before the response, or no response came in time (Envoy's "local
 * origin" failures). A 5xx is an answer: the target is up and chose to fail.
 */
export function isLocalOriginFailure(outcome: Outcome): boolean {
  const kind = outcome.kind;
  return kind === "connect-failure" || kind === "timeout" || kind === "reset";
}
