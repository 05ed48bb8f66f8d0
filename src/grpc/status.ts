/**
 * @module grpc/status
 * gRPC status codes, their names, the standard mapping to HTTP statuses (the one
 * grpc-gateway and Envoy use), and the JSON error body a transcoded request gets when
 * the service answers with a non-OK status: the gateway's one error shape, with the
 * status's name as `code` and its number as `grpcStatus`.
 */
import type { JsonValue } from "@bufbuild/protobuf";

/** Every gRPC status code, by name (google/rpc/code.proto). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusName = keyof typeof GrpcStatus;

const names = Object.keys(GrpcStatus) as GrpcStatusName[];

/** The HTTP status each gRPC status is answered with (google/rpc/code.proto's table). */
const httpStatuses: Record<GrpcStatusName, number> = {
  OK: 200,
  CANCELLED: 499,
  UNKNOWN: 500,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATA_LOSS: 500,
  UNAUTHENTICATED: 401,
};

/** The name of a status code; a code outside 0–16 is UNKNOWN, as gRPC clients treat it. */
export function grpcStatusName(code: number): GrpcStatusName {
  return names[code] ?? "UNKNOWN";
}

/**
 * The status code a `grpc-status` trailer carries; a missing or malformed one is
 * UNKNOWN (2), as the gRPC spec has clients treat it.
 */
export function parseGrpcStatus(header: string | undefined): number {
  if (header === undefined || !/^\d+$/.test(header)) return GrpcStatus.UNKNOWN;
  const code = Number(header);
  return code <= 16 ? code : GrpcStatus.UNKNOWN;
}

/** The HTTP status a gRPC status is answered with. */
export function httpStatusOf(code: number): number {
  return httpStatuses[grpcStatusName(code)];
}

/**
 * Decodes `grpc-message`: the spec percent-encodes it, so `%20` and friends are undone;
 * a malformed escape is kept as sent rather than losing the message.
 */
export function decodeGrpcMessage(header: string | undefined): string {
  if (header === undefined) return "";
  try {
    return decodeURIComponent(header);
  } catch {
    return header;
  }
}

/**
 * Encodes `grpc-message` as the spec asks: UTF-8, every byte outside printable ASCII (and
 * `%` itself) percent-encoded.
 */
export function encodeGrpcMessage(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * The status of a response that is not gRPC's 200: the spec's table for an HTTP status
 * met where a gRPC answer was expected (a proxy's error page, a server that is not gRPC).
 */
export function grpcStatusOfHttp(status: number): number {
  switch (status) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** A non-OK status as the JSON body a transcoded request is answered with. */
export interface GrpcErrorBody {
  error: {
    code: GrpcStatusName;
    message: string;
    requestId: string;
    grpcStatus: number;
    details: JsonValue[];
  };
}

/** The error body for a status; `details` are the decoded `google.rpc.Status` details. */
export function grpcErrorBody(
  code: number,
  message: string,
  requestId: string,
  details: JsonValue[] = [],
): GrpcErrorBody {
  return {
    error: { code: grpcStatusName(code), message, requestId, grpcStatus: code, details },
  };
}
