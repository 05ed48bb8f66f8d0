/**
 * @module proxy/grpc/unary-call
 * A unary gRPC call made by the gateway itself (transcoding JSON to gRPC): one request
 * message in, the response message, headers and status out, with the same tries, retries
 * and deadline as a proxied call (see grpc-call).
 */
import type { IncomingHttpHeaders } from "node:http2";
import { encodeGrpcFrame, GrpcFrameDecoder, GrpcFramingError } from "../../grpc/framing.ts";
import { GrpcStatus } from "../../grpc/status.ts";
import type { OutcomeKind } from "../../upstream/outcome.ts";
import type { Target } from "../../upstream/target.ts";
import { type CallStatus, gatewayStatus } from "./call-status.ts";
import { type GrpcCallOptions, startGrpcCall } from "./grpc-call.ts";

export interface UnaryCallOptions extends Omit<GrpcCallOptions, "body"> {
  /** The request message, serialized (not framed). */
  message: Uint8Array;
  /** A larger response message fails the call (RESOURCE_EXHAUSTED); default gRPC's 4 MiB. */
  maxMessageBytes?: number;
}

export interface UnaryCallResult extends CallStatus {
  /** The response headers (metadata); empty for an answer that was its status alone. */
  headers: IncomingHttpHeaders;
  /** The response message (serialized) when the status is OK. */
  response: Uint8Array | undefined;
  /** The target of the last try. */
  target: Target;
  retries: number;
  /** How the last try counted against its target (see grpc-call's GrpcCallEnd). */
  outcome: OutcomeKind | undefined;
  /**
   * The answer was not one well-formed response message (too large, badly framed, none, or
   * more than one): the status is the gateway's verdict on it, not the upstream's.
   */
  malformed: boolean;
}

/**
 * Makes the call. Never rejects: every failure is a status, the gateway's own (no
 * connection, deadline, a malformed answer) as gRPC clients report them.
 */
export function callGrpcUnary(options: UnaryCallOptions): Promise<UnaryCallResult> {
  const { message, maxMessageBytes, signal, ...call } = options;
  const decoder = new GrpcFrameDecoder({ maxMessageBytes });
  // The gateway's own reason to give up on the answer, which overrides the upstream's status.
  let failure: CallStatus | undefined;
  const abort = new AbortController();
  const onAbort = () => abort.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) abort.abort();
  let headers: IncomingHttpHeaders = {};
  const messages: Uint8Array[] = [];
  return new Promise((resolve) => {
    startGrpcCall(
      { ...call, body: encodeGrpcFrame(message), signal: abort.signal },
      {
        onHeaders(received) {
          headers = received;
        },
        onData(chunk) {
          if (failure) return true;
          try {
            for (const frame of decoder.push(chunk)) {
              if (frame.compressed) throw new GrpcFramingError("compressed, but none was offered");
              messages.push(frame.message);
            }
          } catch (error) {
            const tooLarge = (error as Error).message.includes("larger than");
            failure = gatewayStatus(
              tooLarge ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.INTERNAL,
              `malformed response message: ${(error as Error).message}`,
            );
            abort.abort();
          }
          return true;
        },
        onEnd(end) {
          signal?.removeEventListener("abort", onAbort);
          let status: CallStatus = failure ?? end;
          let malformed = failure !== undefined;
          if (!failure && end.code === GrpcStatus.OK) {
            if (messages.length !== 1 || decoder.bufferedBytes > 0) {
              const what = messages.length === 0 ? "no response message" : "a truncated response";
              status = gatewayStatus(
                GrpcStatus.INTERNAL,
                messages.length > 1 ? "more than one response message" : what,
              );
              malformed = true;
            }
          }
          resolve({
            code: status.code,
            message: status.message,
            details: status.details,
            trailers: status.trailers,
            headers,
            response: status.code === GrpcStatus.OK ? messages[0] : undefined,
            target: end.target,
            retries: end.retries,
            outcome: end.outcome,
            malformed,
          });
        },
      },
    );
  });
}
