/**
 * @module proxy/grpc/call-status
 * How a gRPC try ended: its status read from trailers (or a trailers-only answer), or made
 * up by the gateway when the stream broke without one, as the gRPC spec maps HTTP/2 errors;
 * and how each ending counts against the target.
 */
import { constants, type IncomingHttpHeaders } from "node:http2";
import {
  decodeGrpcMessage,
  encodeGrpcMessage,
  GrpcStatus,
  grpcStatusOfHttp,
  parseGrpcStatus,
} from "../../grpc/status.ts";
import type { OutcomeKind } from "../../upstream/outcome.ts";

/** The status a call ended with, and the trailers that carry it to the client. */
export interface CallStatus {
  code: number;
  /** `grpc-message`, decoded. */
  message: string;
  /** `grpc-status-details-bin` as received (base64 of a `google.rpc.Status`), if any. */
  details: string | undefined;
  /**
   * The trailers to pass on: the upstream's (pseudo-headers removed), or, for an ending the
   * gateway made, `grpc-status` and `grpc-message` alone.
   */
  trailers: IncomingHttpHeaders;
}

/** The status carried by trailers, or by the headers of a trailers-only answer. */
export function statusFromMetadata(metadata: IncomingHttpHeaders): CallStatus {
  const trailers = withoutPseudoHeaders(metadata);
  const message = trailers["grpc-message"];
  const details = trailers["grpc-status-details-bin"];
  return {
    code: parseGrpcStatus(single(trailers["grpc-status"])),
    message: decodeGrpcMessage(single(message)),
    details: single(details),
    trailers,
  };
}

/** A status the gateway made: the upstream sent none, or the call never reached it. */
export function gatewayStatus(code: number, message: string): CallStatus {
  return {
    code,
    message,
    details: undefined,
    trailers: { "grpc-status": String(code), "grpc-message": encodeGrpcMessage(message) },
  };
}

/** An answer that is not HTTP 200: an error page from something that is not a gRPC server. */
export function statusOfHttpAnswer(status: number): CallStatus {
  return gatewayStatus(grpcStatusOfHttp(status), `upstream answered HTTP ${status}`);
}

/**
 * The status of a stream that closed without one. A lost connection is UNAVAILABLE, as
 * gRPC clients report it; so is REFUSED_STREAM (the server did not start the call); other
 * resets as the gRPC spec's table has them.
 */
export function statusOfReset(rstCode: number, connectionLost: boolean): CallStatus {
  if (connectionLost) return gatewayStatus(GrpcStatus.UNAVAILABLE, "connection to upstream lost");
  switch (rstCode) {
    case constants.NGHTTP2_REFUSED_STREAM:
      return gatewayStatus(GrpcStatus.UNAVAILABLE, "upstream refused the stream");
    case constants.NGHTTP2_CANCEL:
      return gatewayStatus(GrpcStatus.CANCELLED, "upstream cancelled the stream");
    case constants.NGHTTP2_ENHANCE_YOUR_CALM:
      return gatewayStatus(GrpcStatus.RESOURCE_EXHAUSTED, "upstream asked to slow down");
    case constants.NGHTTP2_INADEQUATE_SECURITY:
      return gatewayStatus(
        GrpcStatus.PERMISSION_DENIED,
        "upstream refused the connection's security",
      );
    case constants.NGHTTP2_NO_ERROR:
      return gatewayStatus(GrpcStatus.INTERNAL, "upstream ended the stream without a status");
    default:
      return gatewayStatus(GrpcStatus.INTERNAL, `upstream reset the stream (code ${rstCode})`);
  }
}

/**
 * How a status counts against the target that gave it: the ones that say the server is
 * failing (UNKNOWN, INTERNAL, UNAVAILABLE, DATA_LOSS) are server errors, as 5xx are;
 * DEADLINE_EXCEEDED is a timeout when the gateway's bound was the deadline and nothing when
 * it was the client's own; every other status is an answer about the request, a success.
 */
export function outcomeOfStatus(
  code: number,
  deadlineFromGateway: boolean,
): OutcomeKind | undefined {
  switch (code) {
    case GrpcStatus.UNKNOWN:
    case GrpcStatus.INTERNAL:
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DATA_LOSS:
      return "server-error";
    case GrpcStatus.DEADLINE_EXCEEDED:
      return deadlineFromGateway ? "timeout" : undefined;
    default:
      return "success";
  }
}

/** Response headers or trailers as metadata: pseudo-headers removed. */
export function withoutPseudoHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const metadata: IncomingHttpHeaders = {};
  for (const name of Object.keys(headers)) {
    if (name.charCodeAt(0) !== 58 /* ":" */) metadata[name] = headers[name];
  }
  return metadata;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
