/**
 * @module sdk/grpc-stream
 * The response messages of a server-streaming call, as an async iterator: each message
 * decoded as it arrives, at most a few held ahead of the reader (past them the call is
 * paused, and HTTP/2 flow control holds the instance back), the call's status thrown at the
 * end when it is not OK, and the call cancelled when the reader leaves the loop early.
 */
import type { Span } from "@opentelemetry/api";
import type { ErrorCode } from "../errors.ts";
import { encodeGrpcFrame, GrpcFrameDecoder, GrpcFramingError } from "../grpc/framing.ts";
import { GrpcStatus } from "../grpc/status.ts";
import { type CallStatus, gatewayStatus } from "../proxy/grpc/call-status.ts";
import { type GrpcCallOptions, startGrpcCall } from "../proxy/grpc/grpc-call.ts";
import type { Target } from "../upstream/target.ts";
import { grpcErrorCode } from "./grpc-call-error.ts";

/** A call ready to start: what the upstream layer takes, its request message and its span. */
export interface PreparedCall {
  upstream: Omit<GrpcCallOptions, "body">;
  message: Uint8Array;
  span: Span;
}

/** What a stream is made from (the client's side of it). */
export interface ResponseStreamPlan<T> {
  /** Everything up to the first try; throws when there is none to make. */
  prepare(): Promise<PreparedCall>;
  deserialize(bytes: Uint8Array): T;
  maxMessageBytes: number;
  /** The caller's: aborting it cancels the call, which then throws the signal's reason. */
  signal: AbortSignal | undefined;
  /** The call is over (its span ends). */
  onEnd(span: Span, status: CallStatus, target: Target): void;
  error(code: ErrorCode, status: CallStatus, target: Target, tries: number, cause?: unknown): Error;
}

/** Messages held unread past which the call is paused; resumed once the reader is back to `lowWater`. */
const highWater = 16;
const lowWater = 4;

/** A server-streaming call's response messages. */
export class GrpcResponseStream<T> implements AsyncIterableIterator<T> {
  readonly #plan: ResponseStreamPlan<T>;
  readonly #abort = new AbortController();
  #queue: T[] = [];
  /** The call is over: with the error to throw after the messages, if any. */
  #end: { error?: unknown } | undefined;
  #wake: (() => void) | undefined;
  #resume: (() => void) | undefined;
  /** The reader left the loop: the call is cancelled and its end is nobody's concern. */
  #left = false;

  constructor(plan: ResponseStreamPlan<T>) {
    this.#plan = plan;
    plan.signal?.addEventListener("abort", this.#onAbort, { once: true });
    void this.#start();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.#queue.length > 0) {
        const value = this.#queue.shift() as T;
        if (this.#resume && this.#queue.length <= lowWater) {
          const resume = this.#resume;
          this.#resume = undefined;
          resume();
        }
        return { value, done: false };
      }
      if (this.#end) {
        const { error } = this.#end;
        // Thrown once: a reader that asks again is told the stream is done.
        this.#end = {};
        if (error !== undefined) throw error;
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** The reader left the loop: the call is cancelled. */
  async return(): Promise<IteratorResult<T>> {
    this.#left = true;
    this.#queue = [];
    this.#abort.abort();
    this.#finish({});
    return { value: undefined, done: true };
  }

  async #start(): Promise<void> {
    const plan = this.#plan;
    let call: PreparedCall;
    try {
      call = await plan.prepare();
    } catch (error) {
      this.#finish({ error });
      return;
    }
    const decoder = new GrpcFrameDecoder({ maxMessageBytes: plan.maxMessageBytes });
    /** Why the client gave up on the answer: it overrides the instance's status. */
    let failure: { code: ErrorCode; status: CallStatus; cause: unknown } | undefined;
    startGrpcCall(
      { ...call.upstream, body: encodeGrpcFrame(call.message), signal: this.#abort.signal },
      {
        onHeaders() {},
        onData: (chunk, resume) => {
          if (failure || this.#left) return true;
          try {
            for (const frame of decoder.push(chunk)) {
              if (frame.compressed) throw new GrpcFramingError("compressed, but none was offered");
              this.#queue.push(plan.deserialize(frame.message));
            }
          } catch (error) {
            const tooLarge = (error as Error).message.includes("larger than");
            failure = {
              code: tooLarge ? "GATEHOUSE_RESPONSE_TOO_LARGE" : "GATEHOUSE_UPSTREAM_BAD_RESPONSE",
              status: gatewayStatus(
                tooLarge ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.INTERNAL,
                `malformed response message: ${(error as Error).message}`,
              ),
              cause: error,
            };
            this.#abort.abort();
            return true;
          }
          this.#wake?.();
          if (this.#queue.length < highWater) return true;
          this.#resume = resume;
          return false;
        },
        onEnd: (end) => {
          plan.signal?.removeEventListener("abort", this.#onAbort);
          const tries = end.retries + 1;
          if (!failure && end.code === GrpcStatus.OK && decoder.bufferedBytes > 0) {
            failure = {
              code: "GATEHOUSE_UPSTREAM_BAD_RESPONSE",
              status: gatewayStatus(GrpcStatus.INTERNAL, "a truncated response message"),
              cause: undefined,
            };
          }
          plan.onEnd(call.span, failure?.status ?? end, end.target);
          if (failure) {
            this.#finish({
              error: plan.error(failure.code, failure.status, end.target, tries, failure.cause),
            });
          } else if (end.code === GrpcStatus.OK) this.#finish({});
          else if (plan.signal?.aborted) this.#finish({ error: plan.signal.reason });
          else {
            const code = grpcErrorCode(end, end.outcome, false);
            this.#finish({ error: plan.error(code, end, end.target, tries) });
          }
        },
      },
    );
  }

  #onAbort = (): void => {
    this.#abort.abort();
  };

  #finish(end: { error?: unknown }): void {
    if (this.#end) return;
    this.#end = end;
    this.#wake?.();
  }
}
