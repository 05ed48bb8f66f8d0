/**
 * @module sdk/grpc-call-error
 * The error a gRPC service client throws: a ServiceCallError (a catalogue code and its
 * status) that also carries the call's gRPC status, as the service sent it or as the client
 * made it when there was no answer (gRPC clients' own conventions: no connection is
 * UNAVAILABLE, the deadline DEADLINE_EXCEEDED).
 */
import type { IncomingHttpHeaders } from "node:http2";
import type { ErrorCode } from "../errors.ts";
import { GrpcStatus, type GrpcStatusName, grpcStatusName } from "../grpc/status.ts";
import type { CallStatus } from "../proxy/grpc/call-status.ts";
import type { OutcomeKind } from "../upstream/outcome.ts";
import { ServiceCallError } from "./service-call-error.ts";

/** What a GrpcCallError tells besides its code. */
export interface GrpcCallErrorDetails {
  service: string;
  /** The instance the last try went to; undefined if none was picked. */
  target?: string | undefined;
  /** Tries made (1 + retries); 0 when no instance could be picked. */
  tries: number;
  status: CallStatus;
  cause?: unknown;
}

/**
 * A gRPC call that did not end OK. `code` is the catalogue's: `GATEHOUSE_UPSTREAM_ERROR_STATUS`
 * when the service answered with a status other than OK, else what kept the call from an
 * answer (`GATEHOUSE_NO_AVAILABLE_TARGET`, `GATEHOUSE_UPSTREAM_CONNECT_FAILED`,
 * `GATEHOUSE_UPSTREAM_TIMEOUT`, `GATEHOUSE_UPSTREAM_BAD_RESPONSE`,
 * `GATEHOUSE_RESPONSE_TOO_LARGE`). `grpcStatus` is the gRPC status either way.
 */
export class GrpcCallError extends ServiceCallError {
  /** The gRPC status code, e.g. 5. */
  readonly grpcStatus: number;
  /** Its name, e.g. `NOT_FOUND`. */
  readonly grpcStatusName: GrpcStatusName;
  /** `grpc-message`, decoded. */
  readonly grpcMessage: string;
  /**
   * `grpc-status-details-bin` when the service sent it: a serialized `google.rpc.Status`
   * (decode it with the types of its details).
   */
  readonly statusDetails: Buffer | undefined;
  /** The trailing metadata (the status's own headers included). */
  readonly trailers: IncomingHttpHeaders;

  constructor(code: ErrorCode, message: string, details: GrpcCallErrorDetails) {
    super(code, message, details);
    this.name = "GrpcCallError";
    const { status } = details;
    this.grpcStatus = status.code;
    this.grpcStatusName = grpcStatusName(status.code);
    this.grpcMessage = status.message;
    this.statusDetails =
      status.details === undefined ? undefined : Buffer.from(status.details, "base64");
    this.trailers = status.trailers;
  }
}

/**
 * The catalogue code for how a call ended: `outcome` is how its last try counted against
 * its target (see proxy/grpc/grpc-call), `malformed` that the client refused the answer.
 */
export function grpcErrorCode(
  status: CallStatus,
  outcome: OutcomeKind | undefined,
  malformed: boolean,
): ErrorCode {
  if (malformed) {
    return status.code === GrpcStatus.RESOURCE_EXHAUSTED
      ? "GATEHOUSE_RESPONSE_TOO_LARGE"
      : "GATEHOUSE_UPSTREAM_BAD_RESPONSE";
  }
  if (outcome === "connect-failure") return "GATEHOUSE_UPSTREAM_CONNECT_FAILED";
  if (outcome === "timeout" || status.code === GrpcStatus.DEADLINE_EXCEEDED) {
    return "GATEHOUSE_UPSTREAM_TIMEOUT";
  }
  // The stream broke without a status, or the answer was not gRPC.
  if (outcome === "reset") return "GATEHOUSE_UPSTREAM_BAD_RESPONSE";
  return "GATEHOUSE_UPSTREAM_ERROR_STATUS";
}
