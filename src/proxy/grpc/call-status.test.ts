// How a gRPC try's ending is read: a status from trailers, a reset or a lost connection
// as the gRPC spec maps them, and what each counts as against the target.
import assert from "node:assert/strict";
import { constants } from "node:http2";
import { describe, it } from "node:test";
import { GrpcStatus } from "../../grpc/status.ts";
import {
  gatewayStatus,
  outcomeOfStatus,
  statusFromMetadata,
  statusOfHttpAnswer,
  statusOfReset,
} from "./call-status.ts";

describe("a gRPC try's status", () => {
  it("is read from trailers, message decoded, details and other metadata kept", () => {
    const status = statusFromMetadata({
      ":status": "200",
      "grpc-status": "5",
      "grpc-message": "no%20such%20book",
      "grpc-status-details-bin": "CAUSB25vcGU",
      "x-trailer": "kept",
    });
    assert.equal(status.code, GrpcStatus.NOT_FOUND);
    assert.equal(status.message, "no such book");
    assert.equal(status.details, "CAUSB25vcGU");
    assert.equal(status.trailers["x-trailer"], "kept");
    assert.equal(status.trailers[":status"], undefined);
    assert.equal(statusFromMetadata({ "grpc-status": "x" }).code, GrpcStatus.UNKNOWN);
  });

  it("is made by the gateway with its message encoded for the wire", () => {
    assert.deepEqual(gatewayStatus(14, "gone — away").trailers, {
      "grpc-status": "14",
      "grpc-message": "gone %E2%80%94 away",
    });
  });

  it("of a stream that broke without one, as the gRPC spec maps it", () => {
    assert.equal(statusOfReset(constants.NGHTTP2_NO_ERROR, true).code, GrpcStatus.UNAVAILABLE);
    assert.equal(
      statusOfReset(constants.NGHTTP2_REFUSED_STREAM, false).code,
      GrpcStatus.UNAVAILABLE,
    );
    assert.equal(statusOfReset(constants.NGHTTP2_CANCEL, false).code, GrpcStatus.CANCELLED);
    assert.equal(
      statusOfReset(constants.NGHTTP2_ENHANCE_YOUR_CALM, false).code,
      GrpcStatus.RESOURCE_EXHAUSTED,
    );
    assert.equal(statusOfReset(constants.NGHTTP2_INTERNAL_ERROR, false).code, GrpcStatus.INTERNAL);
    assert.equal(statusOfReset(constants.NGHTTP2_NO_ERROR, false).code, GrpcStatus.INTERNAL);
  });

  it("of an answer that is not HTTP 200, as the gRPC spec maps HTTP statuses", () => {
    assert.equal(statusOfHttpAnswer(503).code, GrpcStatus.UNAVAILABLE);
    assert.equal(statusOfHttpAnswer(404).code, GrpcStatus.UNIMPLEMENTED);
    assert.equal(statusOfHttpAnswer(401).code, GrpcStatus.UNAUTHENTICATED);
    assert.equal(statusOfHttpAnswer(400).code, GrpcStatus.INTERNAL);
    assert.equal(statusOfHttpAnswer(500).code, GrpcStatus.UNKNOWN);
  });
});

describe("what a status counts as against the target", () => {
  it("server failures are server errors, answers about the request successes", () => {
    for (const code of [2, 13, 14, 15]) assert.equal(outcomeOfStatus(code, false), "server-error");
    for (const code of [0, 1, 3, 5, 6, 7, 8, 9, 10, 11, 12, 16]) {
      assert.equal(outcomeOfStatus(code, false), "success", String(code));
    }
  });

  it("DEADLINE_EXCEEDED is a timeout under the gateway's deadline, nothing under the client's", () => {
    assert.equal(outcomeOfStatus(GrpcStatus.DEADLINE_EXCEEDED, true), "timeout");
    assert.equal(outcomeOfStatus(GrpcStatus.DEADLINE_EXCEEDED, false), undefined);
  });
});
