/**
 * @module sdk/service-call
 * One call of a service client: the gateway's own upstream layer end to end. The service
 * (upstream/service) picks each target with its selector, panic threshold and the targets'
 * health, ejection and breakers; each try is the proxy's UpstreamTry (proxy/upstream-try)
 * dispatched on the target's undici pool, which reports its outcome to the target's
 * breaker, outlier detection and latency estimate; the proxy's retry loop
 * (upstream/retry-loop) retries what the service's RetryPolicy retries, with its backoff,
 * within its retry budget, on another target. Only the ending differs from the proxy's: the answer is collected into a buffer for the caller
 * instead of streamed to a client.
 */
import type { Span } from "@opentelemetry/api";
import type { Dispatcher } from "undici";
import { type ErrorCode, errorCatalogue } from "../errors.ts";
import { endOtelTry, type OtelRequestTrace } from "../observability/tracing/otel-request-trace.ts";
import { setHeader } from "../proxy/headers.ts";
import { type TryOwner, UpstreamTry } from "../proxy/upstream-try.ts";
import type { OutcomeKind } from "../upstream/outcome.ts";
import { RetryLoop } from "../upstream/retry-loop.ts";
import type { SelectionRequest } from "../upstream/selectors/selector.ts";
import type { Service } from "../upstream/service.ts";
import type { Target } from "../upstream/target.ts";
import { deadlineHeader } from "./deadline.ts";
import { ServiceCallError, type ServiceResponse } from "./service-call-error.ts";

const ATTR_SERVICE = "gatehouse.service";

/** Everything one call sends, decided before its first try. */
export interface CallPlan {
  service: Service;
  method: string;
  /** Path and query. */
  path: string;
  /** Header pairs after `host` (filled per try): `[name, value, name, value, …]`. */
  headers: string[];
  body: Buffer | undefined;
  selection: SelectionRequest;
  /** `Date.now()` time after which the call fails with GATEHOUSE_UPSTREAM_TIMEOUT; undefined: none. */
  deadline: number | undefined;
  maxResponseSize: number;
  trace: OtelRequestTrace;
}

/** Makes one call; resolves with the answer (any status), rejects with a ServiceCallError. */
export function call(plan: CallPlan): Promise<ServiceResponse> {
  return new Promise((resolve, reject) => {
    new ServiceCall(plan, resolve, reject).start();
  });
}

/** One call and its tries. */
class ServiceCall extends RetryLoop implements TryOwner {
  readonly #plan: CallPlan;
  readonly #resolve: (response: ServiceResponse) => void;
  readonly #reject: (error: ServiceCallError) => void;
  /** The body may be sent again (none, or within the retry policy's buffered size). */
  protected readonly replayable: boolean;
  #current: UpstreamTry | undefined;
  #tries = 0;
  /** The failure being retried: the call's if the budget refuses the retry after its backoff. */
  #retriedFailure: { code: ErrorCode; error: Error | undefined } | undefined;
  /** A response being retried, held unread: the answer if the budget refuses the retry. */
  #held: { attempt: UpstreamTry; status: number; rawHeaders: Buffer[] } | undefined;
  /** The committed response: its status and headers, then its body as it arrives. */
  #response: { status: number; rawHeaders: Buffer[]; chunks: Buffer[]; size: number } | undefined;
  /** The call's own reason to end a try (its deadline, an answer too large). */
  #failure: ErrorCode | undefined;
  #timer: NodeJS.Timeout | undefined;
  #trySpan: Span | undefined;
  #tryStatus = 0;

  constructor(
    plan: CallPlan,
    resolve: (response: ServiceResponse) => void,
    reject: (error: ServiceCallError) => void,
  ) {
    super(plan.service, plan.selection);
    this.#plan = plan;
    this.#resolve = resolve;
    this.#reject = reject;
    this.replayable =
      plan.body === undefined || plan.body.length <= plan.service.retry.maxBufferedBody;
  }

  start(): void {
    const { service, selection, deadline } = this.#plan;
    this.startLoop();
    if (deadline !== undefined) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.#fail("GATEHOUSE_UPSTREAM_TIMEOUT", undefined, "the call's deadline had passed");
        return;
      }
      this.#timer = setTimeout(this.#onDeadline, left);
    }
    const target = service.select(selection);
    if (!target) {
      this.#fail("GATEHOUSE_NO_AVAILABLE_TARGET", undefined);
      return;
    }
    this.#send(target);
  }

  #send(target: Target): void {
    const plan = this.#plan;
    const { service, method, path } = plan;
    this.#tries++;
    const headers = ["host", target.authority, ...plan.headers];
    let headersTimeout = service.retry.perTryTimeout || service.timeouts.response;
    if (plan.deadline !== undefined) {
      const left = Math.max(1, plan.deadline - Date.now());
      setHeader(headers, deadlineHeader, String(left), 2);
      headersTimeout = Math.min(headersTimeout, left);
    }
    this.#tryStatus = 0;
    this.#trySpan = plan.trace.startTry(target, method, path, headers, this.retries);
    if (this.#trySpan.isRecording()) this.#trySpan.setAttribute(ATTR_SERVICE, service.name);
    const attempt = new UpstreamTry(this, target);
    this.#current = attempt;
    target.pool.dispatch(
      {
        origin: target.origin,
        method: method as Dispatcher.HttpMethod,
        path,
        headers,
        body: plan.body ?? null,
        headersTimeout,
        bodyTimeout: service.timeouts.idle,
      },
      attempt,
    );
  }

  onTryResponse(attempt: UpstreamTry, status: number, rawHeaders: Buffer[]): boolean {
    if (attempt !== this.#current || this.finished) return true;
    this.#tryStatus = status;
    if (this.retryStatus(attempt.target, status, this.#plan.method)) {
      this.#current = undefined;
      this.#endTrySpan("");
      this.#retriedFailure = undefined;
      this.#held = { attempt, status, rawHeaders };
      return false;
    }
    this.#commit(status, rawHeaders);
    return true;
  }

  #commit(status: number, rawHeaders: Buffer[]): void {
    this.releaseRetrySlot();
    this.#response = { status, rawHeaders, chunks: [], size: 0 };
  }

  onTryData(chunk: Buffer): boolean {
    const response = this.#response;
    if (!response || this.finished) return true;
    response.size += chunk.length;
    const limit = this.#plan.maxResponseSize;
    if (limit > 0 && response.size > limit) {
      this.#failure = "GATEHOUSE_RESPONSE_TOO_LARGE";
      this.#current?.abort("GATEHOUSE_RESPONSE_TOO_LARGE");
      return true;
    }
    response.chunks.push(chunk);
    return true;
  }

  onTryComplete(): void {
    const response = this.#response;
    if (!response || this.finished) return;
    this.#endTrySpan("");
    const answer: ServiceResponse = {
      status: response.status,
      headers: headerRecord(response.rawHeaders),
      body: Buffer.concat(response.chunks, response.size),
      target: this.#current!.target.url,
      tries: this.#tries,
    };
    this.#end();
    this.#resolve(answer);
  }

  onTryFailed(attempt: UpstreamTry, kind: OutcomeKind, code: ErrorCode, error: Error): void {
    if (attempt === this.#held?.attempt) {
      // The held response broke during the backoff: if the retry is refused, say so.
      this.#held = undefined;
      this.#retriedFailure = { code, error };
      return;
    }
    if (attempt !== this.#current || this.finished) return;
    this.#endTrySpan(code);
    if (
      !this.#failure &&
      !this.#response &&
      this.retryFailure(attempt.target, kind, this.#plan.method)
    ) {
      this.#current = undefined;
      this.#retriedFailure = { code, error };
      return;
    }
    this.#fail(this.#failure ?? code, error);
  }

  /** A retry whose backoff outlasts the call's deadline is not made. */
  protected override backoffFits(delayMs: number): boolean {
    const { deadline } = this.#plan;
    return deadline === undefined || Date.now() + delayMs < deadline;
  }

  protected sendRetry(target: Target): void {
    this.#dropHeld();
    this.#send(target);
  }

  /** The budget had no slot for the retry once its backoff was over: the last try's answer stands. */
  protected retryRefused(): void {
    const held = this.#held;
    this.#held = undefined;
    if (!held) {
      const failure = this.#retriedFailure;
      this.#fail(failure?.code ?? "GATEHOUSE_UPSTREAM_BAD_RESPONSE", failure?.error);
      return;
    }
    this.#current = held.attempt;
    this.#tryStatus = held.status;
    this.#commit(held.status, held.rawHeaders);
    held.attempt.commit();
  }

  #onDeadline = (): void => {
    if (this.finished) return;
    this.#failure = "GATEHOUSE_UPSTREAM_TIMEOUT";
    if (this.#current) this.#current.abort("GATEHOUSE_UPSTREAM_TIMEOUT");
    else this.#fail("GATEHOUSE_UPSTREAM_TIMEOUT", undefined);
  };

  #fail(code: ErrorCode, cause: Error | undefined, detail?: string): void {
    if (this.finished) return;
    const { service } = this.#plan;
    const target = this.#current?.target ?? this.firstFailedTarget;
    this.#end();
    const message = `${service.name}: ${detail ?? errorCatalogue[code].message}${
      cause ? ` (${cause.message})` : ""
    }`;
    this.#reject(
      new ServiceCallError(code, message, {
        service: service.name,
        target: target?.url,
        tries: this.#tries,
        cause,
      }),
    );
  }

  /** Throws the held response away (a retry goes out, or the request is over). */
  #dropHeld(): void {
    const held = this.#held;
    this.#held = undefined;
    held?.attempt.drop();
  }

  #endTrySpan(errorCode: string): void {
    if (!this.#trySpan) return;
    endOtelTry(this.#trySpan, this.#tryStatus, errorCode);
    this.#trySpan = undefined;
  }

  #end(): void {
    if (!this.endLoop()) return;
    clearTimeout(this.#timer);
    this.#dropHeld();
  }
}

/** undici's raw header list as a record: lower-case names, a repeated header as an array. */
function headerRecord(rawHeaders: Buffer[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toString("latin1").toLowerCase();
    const value = rawHeaders[i + 1]!.toString("latin1");
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else headers[name] = [existing, value];
  }
  return headers;
}
