/**
 * @module proxy/grpc/error-status
 * Errors the gateway makes itself, answered to a gRPC client as gRPC statuses: each code of
 * the error catalogue has one status, and the answer is an HTTP/2 200 carrying only
 * `grpc-status` and `grpc-message` (trailers-only), or those trailers after a response
 * already begun. A gRPC client never gets an HTTP error page it cannot read.
 */

import type { OutgoingHttpHeaders } from "node:http2";
import { type ErrorCode, errorCatalogue } from "../../errors.ts";
import { encodeGrpcMessage, GrpcStatus, grpcStatusOfHttp } from "../../grpc/status.ts";
import type { PluginAnswer } from "../../pipeline/context.ts";

const {
  UNKNOWN,
  INVALID_ARGUMENT,
  DEADLINE_EXCEEDED,
  NOT_FOUND,
  ALREADY_EXISTS,
  PERMISSION_DENIED,
  RESOURCE_EXHAUSTED,
  FAILED_PRECONDITION,
  UNIMPLEMENTED,
  INTERNAL,
  UNAVAILABLE,
  UNAUTHENTICATED,
} = GrpcStatus;

/** The gRPC status of each catalogued error (docs/grpc.md has the table). */
export const grpcStatusOfError = {
  GATEHOUSE_BAD_FRAMING: INVALID_ARGUMENT,
  GATEHOUSE_BAD_PATH: INVALID_ARGUMENT,
  GATEHOUSE_BAD_HOST: INVALID_ARGUMENT,
  GATEHOUSE_UNAUTHORIZED: UNAUTHENTICATED,
  GATEHOUSE_INVALID_TOKEN: UNAUTHENTICATED,
  GATEHOUSE_TOKEN_EXPIRED: UNAUTHENTICATED,
  GATEHOUSE_TOKEN_CLAIMS_REJECTED: UNAUTHENTICATED,
  GATEHOUSE_FORBIDDEN: PERMISSION_DENIED,
  GATEHOUSE_IP_FORBIDDEN: PERMISSION_DENIED,
  GATEHOUSE_CORS_REJECTED: PERMISSION_DENIED,
  // gRPC's answer to a method the server does not have.
  GATEHOUSE_ROUTE_NOT_FOUND: UNIMPLEMENTED,
  GATEHOUSE_VERSION_NOT_FOUND: UNIMPLEMENTED,
  GATEHOUSE_METHOD_NOT_ALLOWED: UNIMPLEMENTED,
  GATEHOUSE_REQUEST_TIMEOUT: DEADLINE_EXCEEDED,
  // gRPC's answer to a message larger than the receiver takes.
  GATEHOUSE_BODY_TOO_LARGE: RESOURCE_EXHAUSTED,
  GATEHOUSE_URI_TOO_LONG: RESOURCE_EXHAUSTED,
  GATEHOUSE_HEADERS_TOO_LARGE: RESOURCE_EXHAUSTED,
  GATEHOUSE_BAD_CONTENT_ENCODING: INVALID_ARGUMENT,
  GATEHOUSE_UPGRADE_NOT_ALLOWED: INVALID_ARGUMENT,
  GATEHOUSE_CONCURRENCY_LIMITED: RESOURCE_EXHAUSTED,
  GATEHOUSE_RATE_LIMITED: RESOURCE_EXHAUSTED,
  GATEHOUSE_INTERNAL: INTERNAL,
  GATEHOUSE_UPSTREAM_CONNECT_FAILED: UNAVAILABLE,
  GATEHOUSE_UPSTREAM_BAD_RESPONSE: UNAVAILABLE,
  GATEHOUSE_RESPONSE_TOO_LARGE: RESOURCE_EXHAUSTED,
  GATEHOUSE_NO_AVAILABLE_TARGET: UNAVAILABLE,
  GATEHOUSE_AUTH_UNAVAILABLE: UNAVAILABLE,
  GATEHOUSE_RATE_LIMIT_UNAVAILABLE: UNAVAILABLE,
  GATEHOUSE_CONNECTION_LIMITED: UNAVAILABLE,
  GATEHOUSE_SHUTTING_DOWN: UNAVAILABLE,
  GATEHOUSE_UPSTREAM_TIMEOUT: DEADLINE_EXCEEDED,
  GATEHOUSE_UPSTREAM_ERROR_STATUS: UNKNOWN,
  GATEHOUSE_ADMIN_BAD_REQUEST: INVALID_ARGUMENT,
  GATEHOUSE_CONFIG_INVALID: INVALID_ARGUMENT,
  GATEHOUSE_ADMIN_UNAUTHORIZED: UNAUTHENTICATED,
  GATEHOUSE_ADMIN_FORBIDDEN: PERMISSION_DENIED,
  GATEHOUSE_ADMIN_NOT_FOUND: NOT_FOUND,
  GATEHOUSE_CONFIG_VERSION_NOT_FOUND: NOT_FOUND,
  GATEHOUSE_CONFIG_CONFLICT: FAILED_PRECONDITION,
  GATEHOUSE_CONFIG_NOT_WRITABLE: FAILED_PRECONDITION,
  GATEHOUSE_CONFIG_STORE_FAILED: INTERNAL,
  GATEHOUSE_CONFIG_STORE_UNAVAILABLE: UNAVAILABLE,
  GATEHOUSE_HOST_NOT_ALLOWED: PERMISSION_DENIED,
  GATEHOUSE_ORIGIN_NOT_ALLOWED: PERMISSION_DENIED,
  GATEHOUSE_UNSUPPORTED_MEDIA_TYPE: INVALID_ARGUMENT,
  GATEHOUSE_BODY_ENCODING_UNSUPPORTED: INVALID_ARGUMENT,
  GATEHOUSE_BODY_TOO_DEEP: INVALID_ARGUMENT,
  GATEHOUSE_THREAT_JSON_LIMIT: RESOURCE_EXHAUSTED,
  GATEHOUSE_THREAT_JSON_INVALID: INVALID_ARGUMENT,
  GATEHOUSE_THREAT_XML_LIMIT: RESOURCE_EXHAUSTED,
  GATEHOUSE_THREAT_XML_REFUSED: INVALID_ARGUMENT,
  GATEHOUSE_THREAT_DETECTED: PERMISSION_DENIED,
  GATEHOUSE_THREAT_BAD_BOT: PERMISSION_DENIED,
  GATEHOUSE_SAGA_STEP_TIMEOUT: DEADLINE_EXCEEDED,
  GATEHOUSE_SAGA_COMPENSATION_FAILED: INTERNAL,
  GATEHOUSE_SAGA_ID_CONFLICT: ALREADY_EXISTS,
  GATEHOUSE_SAGA_DEFINITION_CHANGED: INTERNAL,
  GATEHOUSE_SAGA_CLOSED: UNAVAILABLE,
  GATEHOUSE_REGISTRY_INVALID_INSTANCE: INVALID_ARGUMENT,
  GATEHOUSE_REGISTRY_FORBIDDEN_NETWORK: PERMISSION_DENIED,
  GATEHOUSE_REGISTRY_NOT_FOUND: NOT_FOUND,
  GATEHOUSE_REGISTRY_LEASE_EXPIRED: NOT_FOUND,
  GATEHOUSE_REGISTRY_STORE_UNAVAILABLE: UNAVAILABLE,
  GATEHOUSE_STORE_LOCKED: FAILED_PRECONDITION,
  GATEHOUSE_STORE_UNAVAILABLE: UNAVAILABLE,
  GATEHOUSE_STORE_MIGRATION_FAILED: INTERNAL,
  GATEHOUSE_STORE_CLOSED: UNAVAILABLE,
  GATEHOUSE_STORE_TRANSACTION_ENDED: INTERNAL,
  GATEHOUSE_STORE_IN_TRANSACTION: INTERNAL,
  GATEHOUSE_EVENTS_INVALID: INVALID_ARGUMENT,
  GATEHOUSE_EVENTS_UNAVAILABLE: UNAVAILABLE,
  GATEHOUSE_REQUEST_INVALID: INVALID_ARGUMENT,
} as const satisfies Record<ErrorCode, number>;

/** What the answer is written to: an Http2ServerResponse, or anything with its methods. */
export interface GrpcResponseLike {
  readonly headersSent: boolean;
  setHeader(name: string, value: string | number | readonly string[]): unknown;
  addTrailers(trailers: OutgoingHttpHeaders): void;
  end(): unknown;
}

/**
 * Whether a request is a gRPC call (`application/grpc`, `application/grpc+proto`, …) whose
 * errors must be answered as gRPC statuses.
 */
export function isGrpcRequest(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/grpc(?:[+;]|$)/i.test(contentType);
}

/** Answers a catalogued error as the gRPC status for it; `message` defaults to the catalogue's. */
export function sendGrpcError(
  res: GrpcResponseLike,
  code: ErrorCode,
  requestId: string,
  message: string = errorCatalogue[code].message,
): void {
  sendGrpcStatus(res, grpcStatusOfError[code], message, { "x-request-id": requestId });
}

/**
 * Ends a response with a gRPC status: trailers-only when nothing was sent yet (`headers`
 * go with it), else as trailers after what was sent.
 */
export function sendGrpcStatus(
  res: GrpcResponseLike,
  status: number,
  message: string,
  headers: OutgoingHttpHeaders = {},
): void {
  const trailers = { "grpc-status": String(status), "grpc-message": encodeGrpcMessage(message) };
  if (res.headersSent) {
    res.addTrailers(trailers);
    res.end();
    return;
  }
  endTrailersOnly(res, { ...headers, "content-type": "application/grpc", ...trailers });
}

/**
 * Ends a response that has sent nothing with one HEADERS frame, END_STREAM set: gRPC's
 * trailers-only answer. Headers set with `setHeader` before `end()` go out so (status 200);
 * `writeHead` would send them at once without END_STREAM, and the empty trailers that
 * followed would read as a call without a status.
 */
export function endTrailersOnly(res: GrpcResponseLike, headers: OutgoingHttpHeaders): void {
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value !== undefined) res.setHeader(name, value);
  }
  res.end();
}

/**
 * A plugin's answer to a gRPC client: its catalogued error as the gRPC status it maps to,
 * any other status as the status gRPC maps that HTTP status to.
 */
export function sendGrpcAnswer(
  res: GrpcResponseLike,
  requestId: string,
  answer: PluginAnswer,
): number {
  if (answer.code !== undefined) {
    sendGrpcError(res, answer.code, requestId);
    return grpcStatusOfError[answer.code];
  }
  const status = grpcStatusOfHttp(answer.status);
  const message = `a plugin answered with HTTP status ${answer.status}`;
  sendGrpcStatus(res, status, message, { "x-request-id": requestId });
  return status;
}
