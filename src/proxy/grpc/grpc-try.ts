/**
 * @module proxy/grpc/grpc-try
 * One try of a gRPC call against one target, over the target's HTTP/2 sessions: the
 * request body written with back-pressure, the response headers, messages and status told
 * to the call, RST_STREAM CANCEL when the call gives up on it, and the try's outcome
 * reported to the target once, when the try is over (a gRPC status often comes last).
 */
import {
  type ClientHttp2Stream,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from "node:http2";
import { GrpcStatus } from "../../grpc/status.ts";
import type { OutcomeKind } from "../../upstream/outcome.ts";
import type { Target } from "../../upstream/target.ts";
import {
  type CallStatus,
  gatewayStatus,
  outcomeOfStatus,
  statusFromMetadata,
  statusOfHttpAnswer,
  statusOfReset,
  withoutPseudoHeaders,
} from "./call-status.ts";
import { SessionConnectError } from "./session-pool.ts";

/** How a try ended. */
export interface GrpcTryEnd extends CallStatus {
  /** How it counted against the target; undefined when it did not (the gateway gave up on it). */
  kind: OutcomeKind | undefined;
  /** Whether any response message (any DATA) arrived: after one, a call is never retried. */
  receivedMessage: boolean;
}

/** What a try tells the call it belongs to. */
export interface GrpcTryOwner {
  /** Response headers of a call that goes on (not a trailers-only answer). */
  onTryHeaders(attempt: GrpcTry, headers: IncomingHttpHeaders): void;
  /** Response bytes (framed messages); false pauses the try until `resume()`. */
  onTryData(attempt: GrpcTry, chunk: Buffer): boolean;
  /** The try can take more request bytes. */
  onTryDrain(attempt: GrpcTry): void;
  /** The try is over; it is the last thing it tells. */
  onTryEnd(attempt: GrpcTry, end: GrpcTryEnd): void;
}

/** Why the gateway ended a try early. */
export type TryCancel = "client" | "deadline";

export class GrpcTry {
  readonly target: Target;
  readonly #owner: GrpcTryOwner;
  readonly #deadlineFromGateway: boolean;
  /** Made only when the try waits for a session: cancelling ends the wait. */
  #abort: AbortController | undefined;
  readonly #sentAt: number;
  #trial: boolean;
  #stream: ClientHttp2Stream | undefined;
  /** Request bytes written before the stream opened; undefined once it has. */
  #pending: Buffer[] | undefined = [];
  #ending = false;
  #answeredAt: number | undefined;
  #status: CallStatus | undefined;
  /** The try is malformed or failed in a way the status alone does not say. */
  #kind: OutcomeKind | undefined;
  #cancelled: TryCancel | undefined;
  #receivedMessage = false;
  #ended = false;
  /** `resume`, bound once, for a sink to call after it paused the try. */
  readonly resume = (): void => {
    this.#stream?.resume();
  };

  constructor(
    owner: GrpcTryOwner,
    target: Target,
    headers: OutgoingHttpHeaders,
    deadlineFromGateway: boolean,
  ) {
    this.#owner = owner;
    this.target = target;
    this.#deadlineFromGateway = deadlineFromGateway;
    this.#sentAt = target.clock.now();
    this.#trial = target.onDispatch();
    const stream = target.sessions.tryRequest(headers);
    if (stream) {
      this.#opened(stream);
      return;
    }
    this.#abort = new AbortController();
    target.sessions.request(headers, { signal: this.#abort.signal }).then(
      (opened) => this.#opened(opened),
      (error: unknown) => this.#notOpened(error),
    );
  }

  /** Writes request bytes; false when the caller should wait for `onTryDrain`. */
  write(chunk: Buffer): boolean {
    if (this.#pending) {
      this.#pending.push(chunk);
      return false;
    }
    if (this.#ended || this.#stream!.writableEnded) return true;
    return this.#stream!.write(chunk);
  }

  /** The request body is complete. */
  end(): void {
    this.#ending = true;
    if (!this.#pending && !this.#stream!.writableEnded) this.#stream!.end();
  }

  /** Ends the try now (RST_STREAM CANCEL); its end is still told to the owner. */
  cancel(reason: TryCancel): void {
    if (this.#ended || this.#cancelled) return;
    this.#cancelled = reason;
    this.#abort?.abort();
    this.#stream?.close(constants.NGHTTP2_CANCEL);
  }

  #opened(stream: ClientHttp2Stream): void {
    this.#stream = stream;
    stream.on("response", this.#onResponse);
    stream.on("data", this.#onData);
    stream.on("trailers", this.#onTrailers);
    stream.on("drain", () => this.#owner.onTryDrain(this));
    // The close that follows says what went wrong; the error itself adds nothing.
    stream.on("error", () => {});
    stream.once("close", this.#onClose);
    // Cancelled while the stream was being opened: its close ends the try.
    if (this.#cancelled) {
      this.#pending = undefined;
      stream.close(constants.NGHTTP2_CANCEL);
      return;
    }
    const pending = this.#pending!;
    this.#pending = undefined;
    let room = true;
    for (const chunk of pending) room = stream.write(chunk);
    if (this.#ending) stream.end();
    if (room) this.#owner.onTryDrain(this);
  }

  #notOpened(error: unknown): void {
    if (this.#cancelled) {
      this.#finish(this.#cancelledStatus());
      return;
    }
    // SessionPoolClosedError: the target was removed; as far as this call goes, it is gone.
    this.#kind = error instanceof SessionConnectError ? error.kind : "connect-failure";
    const reason = error instanceof Error ? error.message : String(error);
    this.#finish(gatewayStatus(GrpcStatus.UNAVAILABLE, `could not connect to upstream: ${reason}`));
  }

  #onResponse = (headers: IncomingHttpHeaders): void => {
    this.#answeredAt = this.target.clock.now();
    const status = Number(headers[":status"]);
    if (status !== 200) {
      this.#kind = status >= 500 ? "server-error" : "success";
      this.#status = statusOfHttpAnswer(status);
      return;
    }
    // Trailers-only: the call failed (or ended) at once, its status in the headers.
    if (headers["grpc-status"] !== undefined) {
      this.#status = statusFromMetadata(headers);
      return;
    }
    if (!/^application\/grpc/i.test(String(headers["content-type"] ?? ""))) {
      this.#kind = "reset";
      this.#status = gatewayStatus(GrpcStatus.UNKNOWN, "upstream answered without gRPC");
      return;
    }
    this.#owner.onTryHeaders(this, withoutPseudoHeaders(headers));
  };

  #onData = (chunk: Buffer): void => {
    // The body of an answer that is not gRPC's is nobody's business.
    if (this.#status !== undefined || this.#cancelled) return;
    this.#receivedMessage = true;
    if (!this.#owner.onTryData(this, chunk)) this.#stream!.pause();
  };

  #onTrailers = (trailers: IncomingHttpHeaders): void => {
    this.#status ??= statusFromMetadata(trailers);
  };

  #onClose = (): void => {
    const stream = this.#stream!;
    if (this.#cancelled) {
      this.#finish(this.#cancelledStatus());
      return;
    }
    // A status received stands, whatever reset followed it (a server that answered before
    // reading the whole request resets the rest of it).
    if (this.#status) {
      this.#finish(this.#status);
      return;
    }
    const session = stream.session;
    const lost = session === undefined || session.destroyed || session.closed;
    this.#kind = "reset";
    this.#finish(statusOfReset(stream.rstCode ?? constants.NGHTTP2_NO_ERROR, lost));
  };

  #cancelledStatus(): CallStatus {
    if (this.#cancelled === "deadline") {
      this.#kind = this.#deadlineFromGateway ? "timeout" : undefined;
      return gatewayStatus(GrpcStatus.DEADLINE_EXCEEDED, "deadline exceeded");
    }
    return gatewayStatus(GrpcStatus.CANCELLED, "call cancelled");
  }

  #finish(status: CallStatus): void {
    if (this.#ended) return;
    this.#ended = true;
    const kind =
      this.#kind ??
      (this.#cancelled ? undefined : outcomeOfStatus(status.code, this.#deadlineFromGateway));
    const target = this.target;
    if (kind !== undefined) {
      // The time to the answer's first headers, as an HTTP try measures to its headers.
      const at = this.#answeredAt ?? target.clock.now();
      target.onOutcome({ kind, durationMs: at - this.#sentAt }, this.#trial);
      this.#trial = false;
    }
    target.onSettled(this.#trial);
    this.#owner.onTryEnd(this, { ...status, kind, receivedMessage: this.#receivedMessage });
  }
}
