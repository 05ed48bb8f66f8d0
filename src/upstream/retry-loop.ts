/**
 * @module upstream/retry-loop
 * The tries of one call to a service, as the gateway's proxy (HTTP and gRPC) and the SDK's
 * service client make them: the call counted in the service's retry budget while it
 * lasts; after a failed try, another one if the retry policy, the body, the budget and the
 * targets allow it, on another target (the same one only when it is all there is); the
 * backoff waited out; then the budget asked again as the retry is sent, the retry holding
 * a slot until its try is over (see RetryBudget). What a try is, and how its answer reaches
 * the caller, are the subclass's.
 *
 * A base class, not an object of its own: the proxy makes one call per request, and fields
 * on the request's own object add no allocation to its path. The backoff timer is a static
 * function with the call as its argument, for the same reason.
 */
import type { OutcomeKind } from "./outcome.ts";
import type { SelectionRequest } from "./selectors/selector.ts";
import type { Service } from "./service.ts";
import type { Target } from "./target.ts";

/** One call's tries against a service: its retries, and its share of the retry budget. */
export abstract class RetryLoop {
  readonly #service: Service;
  readonly #selection: SelectionRequest;
  #retries = 0;
  #finished = false;
  /** The targets whose tries failed, once one did. */
  #tried: Set<Target> | undefined;
  /** A retry's try is under way and holds a slot of the budget. */
  #retrySlot = false;
  /** While a retry waits out its backoff: the target it goes to, and whether the budget is skipped. */
  #next: Target | undefined;
  #nextIsFree = false;

  /** `selection` picks the target of each retry. */
  constructor(service: Service, selection: SelectionRequest) {
    this.#service = service;
    this.#selection = selection;
  }

  /** Whether the body can be sent again: none, or all of it still kept. */
  protected abstract readonly replayable: boolean;

  /** Sends the retry's try to `target` (its backoff is over and the budget let it go). */
  protected abstract sendRetry(target: Target): void;

  /** The budget (or a body no longer kept whole) refused the retry after its backoff: the last try's answer stands. */
  protected abstract retryRefused(): void;

  /** Whether a retry that first waits `delayMs` is still worth making (a deadline may say no). */
  protected backoffFits(_delayMs: number): boolean {
    return true;
  }

  /** Retries made; one the budget refused after its backoff is taken back. */
  get retries(): number {
    return this.#retries;
  }

  /** Whether the call is over (see `endLoop`). */
  protected get finished(): boolean {
    return this.#finished;
  }

  /** The target of the first try that failed, when one did. */
  protected get firstFailedTarget(): Target | undefined {
    return this.#tried?.values().next().value;
  }

  /** The call starts: it counts in its service's retry budget until `endLoop`. */
  protected startLoop(): void {
    this.#service.retry.budget.requestStarted();
  }

  /** The call is over: its retry slot and its place in the budget go back. False if it already was. */
  protected endLoop(): boolean {
    if (this.#finished) return false;
    this.#finished = true;
    this.releaseRetrySlot();
    this.#service.retry.budget.requestEnded();
    return true;
  }

  /** The current try's answer is taken: the retry that sent it is over, and gives its slot back. */
  protected releaseRetrySlot(): void {
    if (!this.#retrySlot) return;
    this.#retrySlot = false;
    this.#service.retry.budget.retryEnded();
  }

  /** A try on `failed` answered `status`: schedules a retry if the policy retries it and all else allows. */
  protected retryStatus(failed: Target, status: number, method: string): boolean {
    return this.#service.retry.retriesStatus(status, method) && this.retry(failed, "server-error");
  }

  /** A try on `failed` failed as `kind`: schedules a retry if the policy retries it and all else allows. */
  protected retryFailure(failed: Target, kind: OutcomeKind, method: string): boolean {
    return this.#service.retry.retriesFailure(kind, method) && this.retry(failed, kind);
  }

  /**
   * Schedules another try, after the failure `kind` of a try on `failed`, if the body, the
   * attempts left, the budget, the targets and `backoffFits` allow one; false if not. The
   * budget is asked now and again when the backoff is over, as the try is sent: only then
   * does the retry hold a slot, unless it is free of the budget (see RetryPolicy.retryIsFree).
   */
  protected retry(failed: Target, kind: OutcomeKind): boolean {
    const policy = this.#service.retry;
    if (this.#finished || !this.replayable || this.#retries >= policy.attempts) return false;
    // The previous retry's try is over: its slot goes back.
    this.releaseRetrySlot();
    const free = policy.retryIsFree(kind, failed);
    if (!free && !policy.budget.hasRoom()) return false;
    this.#tried ??= new Set();
    this.#tried.add(failed);
    // Another target if there is one; the same one again only when it is all there is.
    const service = this.#service;
    const next =
      service.select(this.#selection, { exclude: this.#tried }) ?? service.select(this.#selection);
    if (!next) return false;
    const delay = policy.backoff(this.#retries + 1);
    if (!this.backoffFits(delay)) return false;
    this.#retries++;
    this.#next = next;
    this.#nextIsFree = free;
    setTimeout(RetryLoop.#afterBackoff, delay, this);
    return true;
  }

  static #afterBackoff(loop: RetryLoop): void {
    const next = loop.#next!;
    loop.#next = undefined;
    if (loop.#finished) return;
    // A streamed body may have outgrown what is kept for a replay during the backoff.
    if (!loop.replayable || (!loop.#nextIsFree && !loop.#service.retry.budget.tryStartRetry())) {
      loop.#retries--;
      loop.retryRefused();
      return;
    }
    loop.#retrySlot = !loop.#nextIsFree;
    loop.sendRetry(next);
  }
}
