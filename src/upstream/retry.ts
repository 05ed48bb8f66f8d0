/**
 * @module upstream/retry
 * When a failed try may be tried again, how long to wait first, and the retry budget that
 * keeps a failing fleet from being hit by a retry storm (Envoy's retry budgets).
 */
import type { z } from "zod";
import type { RetryableCondition, retriesSchema } from "../config/schema/upstream.ts";
import type { OutcomeKind } from "./outcome.ts";
import type { Target } from "./target.ts";

export type RetriesConfig = z.output<typeof retriesSchema>;

const idempotentMethods = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/** A service's retry rules, compiled once. */
export class RetryPolicy {
  readonly attempts: number;
  readonly maxBufferedBody: number;
  readonly perTryTimeout: number;
  readonly #onConditions: ReadonlySet<RetryableCondition | OutcomeKind>;
  readonly #onStatuses: ReadonlySet<number>;
  readonly #retryNonIdempotent: boolean;
  readonly #base: number;
  readonly #max: number;
  readonly #random: () => number;
  readonly budget: RetryBudget;

  constructor(config: RetriesConfig, random: () => number = Math.random) {
    this.attempts = config.attempts;
    this.maxBufferedBody = config.maxBufferedBody;
    this.perTryTimeout = config.perTryTimeout;
    this.#onConditions = new Set(
      config.on.filter((c): c is RetryableCondition => typeof c === "string"),
    );
    this.#onStatuses = new Set(config.on.filter((c): c is number => typeof c === "number"));
    this.#retryNonIdempotent = config.retryNonIdempotent;
    this.#base = config.backoff.base;
    this.#max = config.backoff.max;
    this.#random = random;
    this.budget = new RetryBudget(config.budget.ratio, config.budget.minRetries);
  }

  /** Whether requests with this method may be retried at all (a connect failure always may). */
  methodAllows(method: string): boolean {
    return this.#retryNonIdempotent || idempotentMethods.has(method);
  }

  /**
   * Whether a failed try is worth another. A connect failure never reached the upstream, so
   * it is retried whatever the method; anything else only for methods that may repeat.
   */
  retriesFailure(kind: OutcomeKind, method: string): boolean {
    if (!this.#onConditions.has(kind)) return false;
    return kind === "connect-failure" || this.methodAllows(method);
  }

  /**
   * Whether a gRPC call that failed before any response message is tried again: one that
   * could not connect, or that ended UNAVAILABLE (the status gRPC reserves for "try again";
   * a lost connection ends a call so too). Idempotency does not enter into it: every call
   * is a POST, and gRPC leaves the choice to the UNAVAILABLE rule.
   */
  retriesGrpc(condition: "connect-failure" | "unavailable"): boolean {
    return this.#onConditions.has(condition);
  }

  /** Whether a response status is retried (for a method that may repeat). */
  retriesStatus(status: number, method: string): boolean {
    return this.#onStatuses.has(status) && this.methodAllows(method);
  }

  /**
   * Whether a retry after a try that failed on `failed` is outside the budget. A connect
   * failure never reached the upstream, so sending the request elsewhere adds no load to
   * anything. A failure that took its target out of rotation (ejected, unhealthy, breaker
   * open; not in panic, where nothing is out) was that target's, not the fleet's: the
   * retries it causes are bounded by the tries that were in flight to it, and go to targets
   * still in rotation. Every other retry (5xx answers, timeouts and resets on targets still
   * in rotation, which is what an overloaded fleet gives) stays within the budget.
   */
  retryIsFree(kind: OutcomeKind, failed: Target): boolean {
    return kind === "connect-failure" || (!failed.ignoreHealth && !failed.usable());
  }

  /** Delay before retry number `retry` (1-based): full jitter over an exponential ceiling. */
  backoff(retry: number): number {
    const ceiling = Math.min(this.#max, this.#base * 2 ** (retry - 1));
    return Math.floor(this.#random() * ceiling);
  }
}

/**
 * Retries in flight may not exceed `ratio` of requests in flight, with `minRetries`
 * always allowed. One budget per service, counted across all its requests.
 */
export class RetryBudget {
  #requests = 0;
  #retries = 0;
  readonly #ratio: number;
  readonly #minRetries: number;

  constructor(ratio: number, minRetries: number) {
    this.#ratio = ratio;
    this.#minRetries = minRetries;
  }

  requestStarted(): void {
    this.#requests++;
  }

  requestEnded(): void {
    this.#requests--;
  }

  /** Whether a retry slot is free now (a retry is decided; its try is sent after the backoff). */
  hasRoom(): boolean {
    return this.#retries < Math.max(this.#minRetries, this.#ratio * this.#requests);
  }

  /**
   * Takes a retry slot if the budget has one, as the retry's try is sent (a retry waiting
   * out its backoff sends nothing, so holds none); the caller must `retryEnded()` after.
   */
  tryStartRetry(): boolean {
    if (!this.hasRoom()) return false;
    this.#retries++;
    return true;
  }

  retryEnded(): void {
    this.#retries--;
  }

  /** Retries in flight now (for status and tests). */
  get retriesInFlight(): number {
    return this.#retries;
  }
}
