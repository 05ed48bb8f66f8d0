/**
 * @module proxy/http-proxy
 * Forwards one HTTP request: one or more tries (see upstream-try), retried on another
 * target when the service's retry policy, the request body and the retry budget allow
 * (see upstream/retry-loop), and the committed response streamed back. Bodies are
 * streamed, never buffered, except a small body kept so a retry can send it again. A
 * client that goes away aborts the upstream try; an upstream that fails mid-body destroys
 * the client connection.
 */
import type { IncomingMessage } from "node:http";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { type ErrorCode, type GatehouseError, isGatehouseError } from "../errors.ts";
import { endTry, type TrySpan } from "../observability/tracing.ts";
import { runnerState } from "../pipeline/context.ts";
import type { BodyConsumer } from "../server/exchange.ts";
import { type Mirror, maxMirroredBody } from "../traffic/mirror.ts";
import type { OutcomeKind } from "../upstream/outcome.ts";
import { RetryLoop } from "../upstream/retry-loop.ts";
import type { Target } from "../upstream/target.ts";
import type { ForwardRequest } from "./forward-request.ts";
import { clientResponseHeaders, deadlineHeader, setHeader, trailerPairs } from "./headers.ts";
import { countedRequestBody, hasUnreadBody, readWholeBody } from "./request-body.ts";
import { sendError } from "./respond.ts";
import { answerUpstreamFailure, type ResponseStartOwner, startResponse } from "./response-start.ts";
import { type TransformedResponse, transformedRequestBody } from "./transformed-body.ts";
import { type TryOwner, UpstreamTry } from "./upstream-try.ts";

export type { ForwardRequest } from "./forward-request.ts";

/** Sends the request upstream (retrying as the service allows) and streams the answer back. */
export function forward(request: ForwardRequest): void {
  new ProxiedRequest(request).start();
}

/** One client request and its tries. */
class ProxiedRequest extends RetryLoop implements TryOwner, BodyConsumer, ResponseStartOwner {
  readonly #request: ForwardRequest;
  #current: UpstreamTry | undefined;
  #body: Buffer | IncomingMessage | Readable | null = null;
  /** The response body on its way through plugins' transforms, when they asked for any. */
  transformed: TransformedResponse | undefined;
  /** The upstream sent its whole response (the transforms may still be writing theirs). */
  #upstreamDone = false;
  /** Whether the body can be sent again (none, or kept whole in memory). */
  protected replayable = true;
  /** The failure being retried: answered if the budget refuses the retry after the backoff. */
  #retriedFailure: ErrorCode = "GATEHOUSE_UPSTREAM_BAD_RESPONSE";
  /** The response being retried, held unread: sent if the budget refuses the retry. */
  #held:
    | { attempt: UpstreamTry; status: number; rawHeaders: Buffer[]; statusText: string }
    | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** With `timeouts.total`: when the request's time is up (performance.now() time); else 0. */
  #deadline = 0;
  #failure: ErrorCode | "client-closed" | undefined;
  /** A transform's refusal of the body, answered with its own message. */
  #refusal: GatehouseError | undefined;
  /** The current try's client span, when the request is traced. */
  #trySpan: TrySpan | undefined;
  /** The current try's response status, once its headers arrived. */
  #tryStatus = 0;

  constructor(request: ForwardRequest) {
    super(request.service, request.selection);
    this.#request = request;
  }

  start(): void {
    const { req, res, service, maxBodySize } = this.#request;
    this.startLoop();
    res.on("close", this.#onClientClose);
    const total = service.timeouts.total;
    if (total > 0) {
      this.#timer = setTimeout(this.#onTotalTimeout, total);
      this.#deadline = performance.now() + shorterOfClients(total, req.headers[deadlineHeader]);
    }
    const length = req.headers["content-length"];
    const chunked = req.headers["transfer-encoding"] !== undefined;
    const mirror = this.#request.mirror;
    if (!chunked && (length === undefined || length === "0")) {
      this.#send(this.#request.target);
      if (mirror) this.#mirror(mirror, null);
      return;
    }
    // A body is coming: if the client stalls, this request stops and answers 408.
    res.bodyConsumer = this;
    const transforms = this.#request.ctx && runnerState.requestBody(this.#request.ctx);
    if (transforms) {
      // Sent chunked, as the transforms give it, and never retried.
      this.replayable = false;
      const tooLarge = () => this.#fail("GATEHOUSE_BODY_TOO_LARGE");
      const known = chunked ? undefined : Number(length);
      const body = transformedRequestBody(this.#request, transforms, known, tooLarge, (error) =>
        this.transformFailed(error, "transformRequestBody"),
      );
      if (body) {
        this.#body = body;
        this.#send(this.#request.target);
      } else tooLarge();
      mirror?.skip();
      return;
    }
    if (
      !chunked &&
      ((service.retry.attempts > 0 && Number(length) <= service.retry.maxBufferedBody) ||
        (mirror && Number(length) <= maxMirroredBody))
    ) {
      // Read whole, so that a retry (or the mirror) can send it again.
      readWholeBody(req, Number(length), (body) => {
        if (this.finished) return;
        this.#body = body;
        this.#send(this.#request.target);
        if (mirror) this.#mirror(mirror, body);
      }).once("error", () => this.#end());
      return;
    }
    mirror?.skip();
    this.replayable = false;
    const limit = maxBodySize === 0 ? Number.POSITIVE_INFINITY : maxBodySize;
    // A chunked body's size is known only by counting it (for metrics and the access log).
    this.#body = chunked
      ? countedRequestBody(req, res, limit, () => this.#fail("GATEHOUSE_BODY_TOO_LARGE"))
      : req;
    this.#send(this.#request.target);
  }

  /** Sends the mirror its copy, as the first try went (host aside, which is the mirror's). */
  #mirror(mirror: Mirror, body: Buffer | null): void {
    const { selection, method, path, headers } = this.#request;
    mirror.send(selection, method, path, headers, body);
  }

  clientTooSlow(): boolean {
    if (this.finished) return false;
    this.#fail("GATEHOUSE_REQUEST_TIMEOUT");
    return true;
  }

  #send(target: Target): void {
    const { res, service, headers, method } = this.#request;
    res.target = target.url;
    if (res.upstreamStartedAt === 0) res.upstreamStartedAt = performance.now();
    headers[1] = this.#request.preservedHost ?? target.authority;
    if (this.#deadline > 0) {
      // What is left of it as this try leaves, so the service can give up when the gateway will.
      const left = Math.max(1, Math.ceil(this.#deadline - performance.now()));
      setHeader(headers, deadlineHeader, String(left));
    }
    if (res.trace) {
      this.#tryStatus = 0;
      this.#trySpan = res.trace.startTry(target, method, this.#request.path, headers, res.retries);
    }
    const attempt = new UpstreamTry(this, target);
    this.#current = attempt;
    const timeouts = service.timeouts;
    target.pool.dispatch(
      {
        origin: target.origin,
        method: method as Dispatcher.HttpMethod,
        path: this.#request.path,
        headers,
        body: this.#body,
        headersTimeout: service.retry.perTryTimeout || timeouts.response,
        bodyTimeout: timeouts.idle,
      },
      attempt,
    );
  }

  onTryResponse(
    attempt: UpstreamTry,
    status: number,
    rawHeaders: Buffer[],
    statusText: string,
  ): boolean {
    const { res, method } = this.#request;
    if (attempt !== this.#current || res.destroyed) return true;
    this.#tryStatus = status;
    if (this.retryStatus(attempt.target, status, method)) {
      this.#retryScheduled();
      this.#endTrySpan("");
      this.#retriedFailure = "GATEHOUSE_UPSTREAM_BAD_RESPONSE";
      this.#held = { attempt, status, rawHeaders, statusText };
      return false;
    }
    return this.#commit(attempt, status, rawHeaders, statusText);
  }

  /** Sends a try's response on to the client (see response-start); false while it is held. */
  #commit(attempt: UpstreamTry, status: number, rawHeaders: Buffer[], statusText: string): boolean {
    const { requestId } = this.#request;
    this.releaseRetrySlot();
    const headers = clientResponseHeaders(rawHeaders, requestId, this.#request.closeConnection());
    if (this.#request.setCookie !== undefined) headers.push("set-cookie", this.#request.setCookie);
    return startResponse(this, attempt, status, statusText, headers);
  }

  // What response-start asks of the request (ResponseStartOwner).
  get request(): ForwardRequest {
    return this.#request;
  }

  answering(attempt: UpstreamTry): boolean {
    return !this.finished && attempt === this.#current;
  }

  fail(code: ErrorCode): void {
    this.#fail(code);
  }

  failed(): boolean {
    return this.#failure !== undefined;
  }

  transformedDone(): void {
    this.#request.res.end();
    this.#end();
  }

  /**
   * A plugin's transform failed: 500 if nothing was sent yet, else the response is cut. A
   * transform that fails with a GatehouseError refuses what it read (a body that does not
   * decode, or passes a limit): that error is the answer, and no bug is logged.
   */
  transformFailed(error: Error, where: string): void {
    if (this.finished) return;
    const refused = isGatehouseError(error);
    const code = refused ? error.code : "GATEHOUSE_INTERNAL";
    if (refused) this.#refusal = error;
    else {
      this.#request.log.error(
        { err: error, requestId: this.#request.requestId, hook: where },
        "plugin transform failed",
      );
    }
    if (!this.#upstreamDone) {
      this.#fail(code);
      return;
    }
    this.#failure = code;
    this.#answerFailure(code, error);
  }

  release(attempt: UpstreamTry): void {
    this.#current = undefined;
    attempt.discard();
    this.#request.res.upstreamEndedAt = performance.now();
    this.#endTrySpan("");
    this.#end();
  }

  onTryData(chunk: Buffer, resume: () => void): boolean {
    if (this.transformed) return this.transformed.write(chunk, resume);
    const res = this.#request.res;
    res.bytesOut += chunk.length;
    if (res.write(chunk)) return true;
    // The client is slower than the upstream: undici pauses until the client drains.
    res.once("drain", resume);
    return false;
  }

  onTryComplete(trailers: string[] | null): void {
    const { res } = this.#request;
    if (this.transformed) {
      // The transforms end the response once they wrote their last bytes (trailers dropped).
      this.#upstreamDone = true;
      res.upstreamEndedAt = performance.now();
      this.#endTrySpan("");
      this.transformed.end();
      return;
    }
    if (trailers && trailers.length > 0) res.addTrailers(trailerPairs(trailers));
    res.upstreamEndedAt = performance.now();
    this.#endTrySpan("");
    res.end();
    this.#end();
  }

  onTryFailed(attempt: UpstreamTry, kind: OutcomeKind, code: ErrorCode, error: Error): void {
    const { res, method } = this.#request;
    if (attempt === this.#held?.attempt) {
      // The held response broke during the backoff: if the retry is refused, say so.
      this.#held = undefined;
      return;
    }
    if (attempt !== this.#current) return;
    this.#endTrySpan(code);
    if (!this.#failure && !res.headersSent && this.retryFailure(attempt.target, kind, method)) {
      this.#retryScheduled();
      this.#retriedFailure = code;
      return;
    }
    this.#answerFailure(code, error);
  }

  /** Ends the request with the failure of its last try. */
  #answerFailure(code: ErrorCode, error: Error | undefined): void {
    const { res, req, requestId } = this.#request;
    res.upstreamEndedAt = performance.now();
    this.#end();
    if (res.destroyed || (res.writableEnded && !this.#failure)) return;
    if (res.headersSent) {
      // Mid-body: the client must see a broken response, never a silently short one.
      res.destroy(error);
      return;
    }
    if (this.#failure === "client-closed") return;
    // The upstream's failure (not the client's, nor a bound's): a plugin may answer instead.
    if (!this.#failure && answerUpstreamFailure(this.#request, code)) return;
    const answer = this.#failure ?? code;
    sendError(res, this.#refusal ?? answer, requestId, {
      close:
        answer === "GATEHOUSE_BODY_TOO_LARGE" ||
        answer === "GATEHOUSE_REQUEST_TIMEOUT" ||
        this.#request.closeConnection(),
    });
    // An unread request body would be taken for the next request on this connection.
    if (hasUnreadBody(req)) res.closeAfterAnswer();
  }

  /** A retry waits out its backoff: no try is under way, and the count shows it. */
  #retryScheduled(): void {
    this.#current = undefined;
    this.#request.res.retries = this.retries;
  }

  protected sendRetry(target: Target): void {
    this.#dropHeld();
    this.#send(target);
  }

  /** The budget had no slot left for the retry once its backoff was over: the last try's answer stands. */
  protected retryRefused(): void {
    this.#request.res.retries = this.retries;
    const held = this.#held;
    this.#held = undefined;
    if (!held) {
      this.#answerFailure(this.#retriedFailure, undefined);
      return;
    }
    this.#current = held.attempt;
    if (this.#commit(held.attempt, held.status, held.rawHeaders, held.statusText)) {
      held.attempt.commit();
    }
  }

  /** Throws the held response away (a retry goes out, or the request is over). */
  #dropHeld(): void {
    const held = this.#held;
    this.#held = undefined;
    held?.attempt.drop();
  }

  #endTrySpan(errorCode: string): void {
    if (!this.#trySpan) return;
    endTry(this.#trySpan, this.#tryStatus, errorCode);
    this.#trySpan = undefined;
  }

  #fail(code: ErrorCode | "client-closed"): void {
    if (this.#failure || this.finished) return;
    this.#failure = code;
    if (this.#current) this.#current.abort(code);
    else if (code !== "client-closed") this.#answerBetweenTries(code);
    else this.#end();
  }

  /** The request ends while no try is under way (a backoff, or the body still arriving). */
  #answerBetweenTries(code: ErrorCode): void {
    const { res, requestId } = this.#request;
    this.#end();
    sendError(res, this.#refusal ?? code, requestId, { close: true });
  }

  #end(): void {
    if (!this.endLoop()) return;
    this.#dropHeld();
    if (this.#timer) clearTimeout(this.#timer);
    this.transformed?.destroy();
    this.#request.res.off("close", this.#onClientClose);
  }

  #onClientClose = (): void => {
    if (!this.#request.res.writableFinished) this.#fail("client-closed");
  };

  #onTotalTimeout = (): void => {
    this.#fail("GATEHOUSE_UPSTREAM_TIMEOUT");
  };
}

/** `total`, or the client's own remaining time (`x-request-timeout-ms`) when it is shorter. */
function shorterOfClients(total: number, header: string | string[] | undefined): number {
  if (typeof header !== "string" || !/^\d{1,10}$/.test(header)) return total;
  return Math.min(total, Number(header));
}
