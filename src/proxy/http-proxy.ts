/**
 * @module proxy/http-proxy
 * Forwards one HTTP request: one or more tries (see upstream-try), retried on another
 * target when the service's retry policy, the request body and the retry budget allow,
 * and the committed response streamed back. Bodies are streamed, never buffered, except
 * a small body kept so a retry can send it again. A client that goes away aborts the
 * upstream try; an upstream that fails mid-body destroys the client connection.
 */
import type { IncomingMessage } from "node:http";
import { performance } from "node:perf_hooks";
import { Transform, type TransformCallback } from "node:stream";
import type { Span } from "@opentelemetry/api";
import type { Dispatcher } from "undici";
import type { ErrorCode } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import { endTry } from "../observability/tracing.ts";
import { type Chain, runResponseHooks } from "../pipeline/chain.ts";
import type { RequestContext } from "../pipeline/context.ts";
import type { BodyConsumer, GatewayResponse } from "../server/exchange.ts";
import type { OutcomeKind } from "../upstream/outcome.ts";
import type { SelectionRequest } from "../upstream/selectors/selector.ts";
import type { Service } from "../upstream/service.ts";
import type { Target } from "../upstream/target.ts";
import { clientResponseHeaders } from "./headers.ts";
import { sendError } from "./respond.ts";
import { type TryOwner, UpstreamTry } from "./upstream-try.ts";

/** Everything needed to forward one request. */
export interface ForwardRequest {
  req: IncomingMessage;
  res: GatewayResponse;
  service: Service;
  /** The target the first try goes to. */
  target: Target;
  /** For picking another target on a retry. */
  selection: SelectionRequest;
  /** Path and query to send upstream. */
  path: string;
  /** Upstream headers; the first pair is `host`, set per try. */
  headers: string[];
  /** The client's Host to send on every try (preserveHost), or undefined for each target's own. */
  preservedHost: string | undefined;
  requestId: string;
  /** Largest body accepted when it is sent chunked (Content-Length is checked earlier); 0 = no limit. */
  maxBodySize: number;
  /** Ask the client to close its connection after this response (draining). */
  closeConnection: () => boolean;
  /** The process log, for a plugin's failure while the response is on its way. */
  log: Logger;
  /** The route's plugins and this request's context, when the route has plugins. */
  ctx?: RequestContext;
  chain?: Chain;
}

/** Sends the request upstream (retrying as the service allows) and streams the answer back. */
export function forward(request: ForwardRequest): void {
  new ProxiedRequest(request).start();
}

/** One client request and its tries. */
class ProxiedRequest implements TryOwner, BodyConsumer {
  readonly #request: ForwardRequest;
  #current: UpstreamTry | undefined;
  #body: Buffer | IncomingMessage | Transform | null = null;
  /** Whether the body can be sent again (none, or kept whole in memory). */
  #replayable = true;
  #tried: Set<Target> | undefined;
  #retrySlot = false;
  /** While a retry waits out its backoff: the target it goes to, and whether the budget is skipped. */
  #next: Target | undefined;
  #nextIsFree = false;
  /** The failure being retried: answered if the budget refuses the retry after the backoff. */
  #retriedFailure: ErrorCode = "GATEHOUSE_UPSTREAM_BAD_RESPONSE";
  /** The response being retried, held unread: sent if the budget refuses the retry. */
  #held:
    | { attempt: UpstreamTry; status: number; rawHeaders: Buffer[]; statusText: string }
    | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failure: ErrorCode | "client-closed" | undefined;
  #finished = false;
  /** The current try's client span, when the request is traced. */
  #trySpan: Span | undefined;
  /** The current try's response status, once its headers arrived. */
  #tryStatus = 0;

  constructor(request: ForwardRequest) {
    this.#request = request;
  }

  start(): void {
    const { req, res, service } = this.#request;
    service.retry.budget.requestStarted();
    res.on("close", this.#onClientClose);
    const total = service.timeouts.total;
    if (total > 0) this.#timer = setTimeout(this.#onTotalTimeout, total);
    const length = req.headers["content-length"];
    const chunked = req.headers["transfer-encoding"] !== undefined;
    if (!chunked && (length === undefined || length === "0")) {
      this.#send(this.#request.target);
      return;
    }
    // A body is coming: if the client stalls, this request stops and answers 408.
    res.bodyConsumer = this;
    if (!chunked && service.retry.attempts > 0 && Number(length) <= service.retry.maxBufferedBody) {
      this.#keepBody(Number(length));
    } else {
      this.#replayable = false;
      this.#body = this.#streamedBody(chunked);
      this.#send(this.#request.target);
    }
  }

  clientTooSlow(): boolean {
    if (this.#finished) return false;
    this.#fail("GATEHOUSE_REQUEST_TIMEOUT");
    return true;
  }

  /** Reads a small body whole, so that a retry can send it again. */
  #keepBody(length: number): void {
    const { req } = this.#request;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.once("end", () => {
      if (this.#finished) return;
      this.#body = Buffer.concat(chunks, length);
      this.#send(this.#request.target);
    });
    req.once("error", () => this.#end());
  }

  #streamedBody(chunked: boolean): IncomingMessage | Transform {
    const { req, res, maxBodySize } = this.#request;
    if (!chunked) return req;
    // A chunked body's size is known only by counting it (for metrics and the access log).
    res.bytesInCounted = 0;
    const limit = new BodyLimit(
      maxBodySize === 0 ? Number.POSITIVE_INFINITY : maxBodySize,
      res,
      () => this.#fail("GATEHOUSE_BODY_TOO_LARGE"),
    );
    req.on("error", (error) => limit.destroy(error));
    return req.pipe(limit);
  }

  #send(target: Target): void {
    const { req, res, service, headers } = this.#request;
    res.target = target.url;
    if (res.upstreamStartedAt === 0) res.upstreamStartedAt = performance.now();
    headers[1] = this.#request.preservedHost ?? target.authority;
    if (res.trace) {
      this.#tryStatus = 0;
      this.#trySpan = res.trace.startTry(
        target,
        req.method!,
        this.#request.path,
        headers,
        res.retries,
      );
    }
    const attempt = new UpstreamTry(this, target);
    this.#current = attempt;
    const timeouts = service.timeouts;
    target.pool.dispatch(
      {
        origin: target.origin,
        method: req.method as Dispatcher.HttpMethod,
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
    const { res, req, service } = this.#request;
    if (attempt !== this.#current || res.destroyed) return true;
    this.#tryStatus = status;
    if (
      service.retry.retriesStatus(status, req.method!) &&
      this.#retry(attempt.target, "server-error")
    ) {
      this.#endTrySpan("");
      this.#retriedFailure = "GATEHOUSE_UPSTREAM_BAD_RESPONSE";
      this.#held = { attempt, status, rawHeaders, statusText };
      return false;
    }
    this.#commit(attempt, status, rawHeaders, statusText);
    return true;
  }

  /** Sends a try's response head to the client (its body follows through onTryData). */
  #commit(attempt: UpstreamTry, status: number, rawHeaders: Buffer[], statusText: string): void {
    const { res, requestId } = this.#request;
    this.#releaseRetrySlot();
    const headers = clientResponseHeaders(rawHeaders, requestId, this.#request.closeConnection());
    const { ctx, chain } = this.#request;
    if (ctx && chain && chain.response.length > 0) {
      try {
        runResponseHooks(chain, ctx, { status, headers });
      } catch (error) {
        // A plugin's bug, not the upstream's fault: 500, the target is not blamed, and no
        // other try is made (it would meet the same bug).
        this.#request.log.error(
          { err: error, requestId, hook: "onResponse" },
          "plugin hook failed",
        );
        this.#fail("GATEHOUSE_INTERNAL");
        return;
      }
    }
    try {
      res.writeHead(status, statusText, headers);
    } catch {
      // A header value Node refuses to send (e.g. a character invalid in HTTP).
      attempt.abort("GATEHOUSE_UPSTREAM_BAD_RESPONSE");
    }
  }

  onTryData(chunk: Buffer, resume: () => void): boolean {
    const res = this.#request.res;
    res.bytesOut += chunk.length;
    if (res.write(chunk)) return true;
    // The client is slower than the upstream: undici pauses until the client drains.
    res.once("drain", resume);
    return false;
  }

  onTryComplete(trailers: string[] | null): void {
    const { res } = this.#request;
    if (trailers && trailers.length > 0) {
      const pairs: [string, string][] = [];
      for (let i = 0; i < trailers.length; i += 2)
        pairs.push([String(trailers[i]), String(trailers[i + 1])]);
      res.addTrailers(pairs);
    }
    res.upstreamEndedAt = performance.now();
    this.#endTrySpan("");
    res.end();
    this.#end();
  }

  onTryFailed(attempt: UpstreamTry, kind: OutcomeKind, code: ErrorCode, error: Error): void {
    const { res, req, service } = this.#request;
    if (attempt === this.#held?.attempt) {
      // The held response broke during the backoff: if the retry is refused, say so.
      this.#held = undefined;
      return;
    }
    if (attempt !== this.#current) return;
    this.#endTrySpan(code);
    if (
      !this.#failure &&
      !res.headersSent &&
      service.retry.retriesFailure(kind, req.method!) &&
      this.#retry(attempt.target, kind)
    ) {
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
    const answer = this.#failure ?? code;
    sendError(res, answer, requestId, {
      close:
        answer === "GATEHOUSE_BODY_TOO_LARGE" ||
        answer === "GATEHOUSE_REQUEST_TIMEOUT" ||
        this.#request.closeConnection(),
    });
    // An unread request body would be taken for the next request on this connection.
    if (hasUnreadBody(req)) res.once("finish", () => req.socket?.destroySoon());
  }

  /**
   * Schedules another try on another target if everything allows one; false if not. The
   * budget is asked now and again when the backoff is over, as the try is sent: only
   * then does the retry hold a slot (see RetryBudget), unless it is free of the budget.
   */
  #retry(failed: Target, kind: OutcomeKind): boolean {
    const { service, selection } = this.#request;
    const policy = service.retry;
    if (!this.#replayable || this.#request.res.retries >= policy.attempts || this.#finished)
      return false;
    // The previous retry's try is over: its slot goes back.
    this.#releaseRetrySlot();
    const free = policy.retryIsFree(kind, failed);
    if (!free && !policy.budget.hasRoom()) return false;
    this.#tried ??= new Set();
    this.#tried.add(failed);
    // Another target if there is one; the same one again only when it is all there is.
    const next = service.select(selection, { exclude: this.#tried }) ?? service.select(selection);
    if (!next) return false;
    const retries = ++this.#request.res.retries;
    this.#current = undefined;
    this.#next = next;
    this.#nextIsFree = free;
    // A static function and an argument rather than a closure: nothing allocated per request.
    setTimeout(ProxiedRequest.#afterBackoff, policy.backoff(retries), this);
    return true;
  }

  static #afterBackoff(request: ProxiedRequest): void {
    const next = request.#next!;
    request.#next = undefined;
    if (request.#finished) return;
    if (!request.#nextIsFree) {
      if (!request.#request.service.retry.budget.tryStartRetry()) {
        request.#refused();
        return;
      }
      request.#retrySlot = true;
    }
    const held = request.#held;
    request.#held = undefined;
    held?.attempt.drop();
    request.#send(next);
  }

  /** The budget had no slot left for the retry once its backoff was over: the last try's answer stands. */
  #refused(): void {
    this.#request.res.retries--;
    const held = this.#held;
    this.#held = undefined;
    if (!held) {
      this.#answerFailure(this.#retriedFailure, undefined);
      return;
    }
    this.#current = held.attempt;
    this.#commit(held.attempt, held.status, held.rawHeaders, held.statusText);
    held.attempt.commit();
  }

  #endTrySpan(errorCode: string): void {
    if (!this.#trySpan) return;
    endTry(this.#trySpan, this.#tryStatus, errorCode);
    this.#trySpan = undefined;
  }

  #releaseRetrySlot(): void {
    if (!this.#retrySlot) return;
    this.#retrySlot = false;
    this.#request.service.retry.budget.retryEnded();
  }

  #fail(code: ErrorCode | "client-closed"): void {
    if (this.#failure || this.#finished) return;
    this.#failure = code;
    if (this.#current) this.#current.abort(code);
    else if (code !== "client-closed") this.#answerBetweenTries(code);
    else this.#end();
  }

  /** The request ends while no try is under way (a backoff, or the body still arriving). */
  #answerBetweenTries(code: ErrorCode): void {
    const { res, requestId } = this.#request;
    this.#end();
    sendError(res, code, requestId, { close: true });
  }

  #end(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#releaseRetrySlot();
    const held = this.#held;
    this.#held = undefined;
    held?.attempt.drop();
    this.#request.service.retry.budget.requestEnded();
    if (this.#timer) clearTimeout(this.#timer);
    this.#request.res.off("close", this.#onClientClose);
  }

  #onClientClose = (): void => {
    if (!this.#request.res.writableFinished) this.#fail("client-closed");
  };

  #onTotalTimeout = (): void => {
    this.#fail("GATEHOUSE_UPSTREAM_TIMEOUT");
  };
}

/** Whether the client is (or may still be) sending a body nobody has read. */
export function hasUnreadBody(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** Passes a chunked request body through, counting it and failing once it exceeds the limit. */
class BodyLimit extends Transform {
  #remaining: number;
  readonly #record: GatewayResponse;
  readonly #onExceeded: () => void;

  constructor(limit: number, record: GatewayResponse, onExceeded: () => void) {
    super();
    this.#remaining = limit;
    this.#record = record;
    this.#onExceeded = onExceeded;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#record.bytesInCounted += chunk.length;
    this.#remaining -= chunk.length;
    if (this.#remaining < 0) {
      this.#onExceeded();
      callback(new Error("request body exceeds maxBodySize"));
      return;
    }
    callback(null, chunk);
  }
}
