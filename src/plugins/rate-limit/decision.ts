/**
 * @module plugins/rate-limit/decision
 * What a limiter answers for one request, whatever the algorithm or store: admitted or
 * not, and the figures of the most restrictive limit for the RateLimit-* headers.
 */

/** One configured limit, its window in milliseconds. */
export interface LimitRule {
  limit: number;
  windowMs: number;
}

export type Algorithm = "sliding-window" | "token-bucket";

/** One limit's view of one request. */
export interface LimitOutcome {
  /** Whether this limit admits the request. */
  admits: boolean;
  /** Requests this limit still admits after this one (when it admits), else 0. */
  remaining: number;
  /** Milliseconds until this limit's whole quota is back. */
  resetMs: number;
  /** When refused: milliseconds until this limit admits one request again. */
  retryAfterMs: number;
}

/** The decision for one request against every limit of a plugin. */
export interface Decision {
  admitted: boolean;
  /** The most restrictive limit, the one the headers report. */
  rule: LimitRule;
  remaining: number;
  resetMs: number;
  /** When refused: milliseconds until every limit admits one request again. */
  retryAfterMs: number;
}

/**
 * Folds the per-limit outcomes into one decision. Refused: the limit that refuses for
 * longest (the request may retry only once all of them admit). Admitted: the limit with
 * the fewest requests left, the later reset breaking ties.
 */
export function decide(rules: readonly LimitRule[], outcomes: readonly LimitOutcome[]): Decision {
  let admitted = true;
  let at = 0;
  for (let i = 0; i < outcomes.length; i++) {
    const outcome = outcomes[i]!;
    const best = outcomes[at]!;
    if (!outcome.admits) {
      if (admitted || outcome.retryAfterMs > best.retryAfterMs) at = i;
      admitted = false;
    } else if (
      admitted &&
      (outcome.remaining < best.remaining ||
        (outcome.remaining === best.remaining && outcome.resetMs > best.resetMs))
    ) {
      at = i;
    }
  }
  const chosen = outcomes[at]!;
  return {
    admitted,
    rule: rules[at]!,
    remaining: admitted ? chosen.remaining : 0,
    resetMs: chosen.resetMs,
    retryAfterMs: admitted ? 0 : chosen.retryAfterMs,
  };
}
