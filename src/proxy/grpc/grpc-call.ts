/**
 * @module proxy/grpc/grpc-call
 * One gRPC call through the gateway: tries (see grpc-try) on the service's targets, retried
 * on another target when a try could not connect or ended UNAVAILABLE before any response
 * message, as the service's retry policy and budget allow (see upstream/retry-loop); the request
 * body streamed with back-pressure, and kept for replay only while a retry is possible and
 * it fits `retries.maxBufferedBody`; the deadline enforced and passed on as `grpc-timeout`.
 */
import type { IncomingHttpHeaders } from "node:http2";
import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import { GrpcStatus } from "../../grpc/status.ts";
import type { OutcomeKind } from "../../upstream/outcome.ts";
import { RetryLoop } from "../../upstream/retry-loop.ts";
import type { SelectionRequest } from "../../upstream/selectors/selector.ts";
import type { Service } from "../../upstream/service.ts";
import type { Target } from "../../upstream/target.ts";
import { grpcRequestHeaders } from "./call-headers.ts";
import { CallRequestBody } from "./call-request-body.ts";
import { type CallStatus, gatewayStatus } from "./call-status.ts";
import { type CallDeadline, callDeadline, formatGrpcTimeout } from "./deadline.ts";
import { GrpcTry, type GrpcTryEnd, type GrpcTryOwner } from "./grpc-try.ts";

export interface GrpcCallOptions {
  service: Service;
  /** The target of the first try (the request handler selected it). */
  target: Target;
  /** For picking another target on a retry. */
  selection: SelectionRequest;
  /** `/package.Service/Method`. */
  path: string;
  /** The client's metadata as forwarded: a flat `[name, value, …]` list (see call-headers). */
  metadata: readonly string[];
  /** `:authority` on every try (preserveHost); default each target's `host:port`. */
  authority?: string;
  /** The request's framed messages: a stream (the client's), or all of them at once. */
  body: Readable | Uint8Array;
  /** The route's bound on the call, in ms; 0 or absent: the client's `grpc-timeout` alone. */
  timeout?: number;
  /** When the request arrived (performance.now()), so the deadline counts from then. */
  receivedAt?: number;
  /** Aborting it cancels the call (the client went away). */
  signal?: AbortSignal;
}

/** How a call ended. */
export interface GrpcCallEnd extends CallStatus {
  /** Whether `onHeaders` was called: the trailers then follow a response already begun. */
  headersSent: boolean;
  /** The target of the last try. */
  target: Target;
  /** Retries made. */
  retries: number;
  /** How the last try counted against its target; undefined when it did not (see grpc-try). */
  outcome: OutcomeKind | undefined;
}

/** Where a call's response goes. */
export interface GrpcCallSink {
  /** The response headers (metadata), when the answer is more than its status. */
  onHeaders(headers: IncomingHttpHeaders): void;
  /** Response bytes; return false to pause the upstream until `resume` is called. */
  onData(chunk: Buffer, resume: () => void): boolean;
  /** The call is over: the status and trailers. Called once, always, last. */
  onEnd(end: GrpcCallEnd): void;
}

/** Starts a call; everything it answers goes to `sink`. */
export function startGrpcCall(options: GrpcCallOptions, sink: GrpcCallSink): void {
  new GrpcCall(options, sink).start();
}

class GrpcCall extends RetryLoop implements GrpcTryOwner {
  readonly #options: GrpcCallOptions;
  readonly #sink: GrpcCallSink;
  #deadline: CallDeadline = { at: undefined, fromGateway: false };
  #timer: NodeJS.Timeout | undefined;
  #current: GrpcTry | undefined;
  #lastTarget: Target;
  #body: CallRequestBody | undefined;
  /** The end of the try being retried: the call's if the retry is refused after its backoff. */
  #retriedEnd: GrpcTryEnd | undefined;
  /** The response headers of a try that may still be retried. */
  #heldHeaders: IncomingHttpHeaders | undefined;
  #headersSent = false;
  /** A response message reached the sink: the call is the current try's, for good. */
  #committed = false;

  constructor(options: GrpcCallOptions, sink: GrpcCallSink) {
    super(options.service, options.selection);
    this.#options = options;
    this.#sink = sink;
    this.#lastTarget = options.target;
  }

  start(): void {
    const { service, body, signal } = this.#options;
    this.startLoop();
    const now = performance.now();
    const clientTimeout = this.#options.metadata.findIndex(
      (name, i) => i % 2 === 0 && name.toLowerCase() === "grpc-timeout",
    );
    this.#deadline = callDeadline(
      clientTimeout === -1 ? undefined : this.#options.metadata[clientTimeout + 1],
      this.#options.timeout ?? 0,
      this.#options.receivedAt ?? now,
    );
    if (signal?.aborted) {
      this.#finish(gatewayStatus(GrpcStatus.CANCELLED, "call cancelled"));
      return;
    }
    signal?.addEventListener("abort", this.#onAbort, { once: true });
    if (this.#deadline.at !== undefined) {
      this.#timer = setTimeout(this.#onDeadline, Math.max(0, this.#deadline.at - now));
    }
    this.#body = new CallRequestBody(body, service.retry.maxBufferedBody, this.#onAbort);
    this.#send(this.#options.target);
  }

  #send(target: Target): void {
    const { path, metadata, authority } = this.#options;
    const at = this.#deadline.at;
    this.#lastTarget = target;
    const headers = grpcRequestHeaders(metadata, {
      path,
      authority: authority ?? target.authority,
      timeout: at === undefined ? undefined : formatGrpcTimeout(at - performance.now()),
    });
    const attempt = new GrpcTry(this, target, headers, this.#deadline.fromGateway);
    this.#current = attempt;
    // A retry sends again what the client has sent so far (the first try: what came at once).
    this.#body!.attach(attempt);
  }

  onTryDrain(attempt: GrpcTry): void {
    this.#body!.drained(attempt);
  }

  onTryHeaders(attempt: GrpcTry, headers: IncomingHttpHeaders): void {
    if (attempt !== this.#current) return;
    // Held while this try may still be retried: the client must not see two answers.
    if (this.#mayRetry()) this.#heldHeaders = headers;
    else this.#sendHeaders(headers);
  }

  onTryData(attempt: GrpcTry, chunk: Buffer): boolean {
    if (attempt !== this.#current) return true;
    if (!this.#committed) {
      this.#committed = true;
      this.#body!.forget();
      if (this.#heldHeaders) this.#sendHeaders(this.#heldHeaders);
    }
    return this.#sink.onData(chunk, attempt.resume);
  }

  onTryEnd(attempt: GrpcTry, end: GrpcTryEnd): void {
    if (attempt !== this.#current) return;
    this.#current = undefined;
    const held = this.#heldHeaders;
    this.#heldHeaders = undefined;
    if (this.#retriable(end) && this.retry(attempt.target, end.kind!)) {
      this.#retriedEnd = end;
      this.#body!.detach();
      return;
    }
    // An answer with no message still has its headers' metadata to pass on.
    if (held) this.#sendHeaders(held);
    this.#finish(end);
  }

  #sendHeaders(headers: IncomingHttpHeaders): void {
    this.#heldHeaders = undefined;
    this.#headersSent = true;
    this.#sink.onHeaders(headers);
  }

  /** Whether the current try, failing, could yet be retried. */
  #mayRetry(): boolean {
    const policy = this.#options.service.retry;
    return (
      !this.#committed &&
      this.#body!.replayable &&
      this.retries < policy.attempts &&
      policy.retriesGrpc("unavailable")
    );
  }

  /**
   * Whether a try's end is one the policy retries (the body, the attempts left, the budget
   * and the targets permitting: see RetryLoop.retry).
   */
  #retriable(end: GrpcTryEnd): boolean {
    if (this.#committed || this.#headersSent) return false;
    const policy = this.#options.service.retry;
    if (end.kind === "connect-failure") return policy.retriesGrpc("connect-failure");
    return (
      end.code === GrpcStatus.UNAVAILABLE &&
      !end.receivedMessage &&
      end.kind !== undefined &&
      policy.retriesGrpc("unavailable")
    );
  }

  /** Whether what the client sent so far is still kept whole, to be sent again. */
  protected get replayable(): boolean {
    return this.#body!.replayable;
  }

  protected sendRetry(target: Target): void {
    this.#send(target);
  }

  protected retryRefused(): void {
    this.#finish(this.#retriedEnd!);
  }

  #onAbort = (): void => {
    if (this.#current) this.#current.cancel("client");
    else this.#finish(gatewayStatus(GrpcStatus.CANCELLED, "call cancelled"));
  };

  #onDeadline = (): void => {
    if (this.#current) this.#current.cancel("deadline");
    else this.#finish(gatewayStatus(GrpcStatus.DEADLINE_EXCEEDED, "deadline exceeded"));
  };

  #finish(status: CallStatus & { kind?: OutcomeKind | undefined }): void {
    if (!this.endLoop()) return;
    clearTimeout(this.#timer);
    this.#options.signal?.removeEventListener("abort", this.#onAbort);
    this.#body?.close();
    this.#sink.onEnd({
      code: status.code,
      message: status.message,
      details: status.details,
      trailers: status.trailers,
      headersSent: this.#headersSent,
      target: this.#lastTarget,
      retries: this.retries,
      outcome: status.kind,
    });
  }
}
