import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  decodeGrpcMessage,
  GrpcStatus,
  grpcErrorBody,
  grpcStatusName,
  httpStatusOf,
  parseGrpcStatus,
} from "./status.ts";

describe("gRPC status", () => {
  it("maps every status to the standard HTTP status", () => {
    const expected: Record<string, number> = {
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
    const actual = Object.fromEntries(
      Object.entries(GrpcStatus).map(([name, code]) => [name, httpStatusOf(code)]),
    );
    assert.deepEqual(actual, expected);
  });

  it("names codes, and treats codes outside 0-16 as UNKNOWN", () => {
    assert.equal(grpcStatusName(5), "NOT_FOUND");
    assert.equal(grpcStatusName(16), "UNAUTHENTICATED");
    assert.equal(grpcStatusName(17), "UNKNOWN");
    assert.equal(httpStatusOf(99), 500);
  });

  it("reads the grpc-status trailer, a missing or malformed one as UNKNOWN", () => {
    assert.equal(parseGrpcStatus("0"), 0);
    assert.equal(parseGrpcStatus("14"), 14);
    assert.equal(parseGrpcStatus(undefined), 2);
    assert.equal(parseGrpcStatus("abc"), 2);
    assert.equal(parseGrpcStatus("-1"), 2);
    assert.equal(parseGrpcStatus("40"), 2);
  });

  it("percent-decodes grpc-message, keeping a malformed one as sent", () => {
    assert.equal(decodeGrpcMessage("book%20not%20found%3A%20%E2%9C%93"), "book not found: ✓");
    assert.equal(decodeGrpcMessage("100%"), "100%");
    assert.equal(decodeGrpcMessage(undefined), "");
  });

  it("builds the gateway's error shape with the status name as code", () => {
    assert.deepEqual(grpcErrorBody(5, "no such book", "req-1", [{ "@type": "x" }]), {
      error: {
        code: "NOT_FOUND",
        message: "no such book",
        requestId: "req-1",
        grpcStatus: 5,
        details: [{ "@type": "x" }],
      },
    });
  });
});
