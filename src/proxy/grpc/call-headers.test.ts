// The request headers of a gRPC try: the call's own pseudo-headers, te and deadline, the
// client's metadata without what HTTP/2 forbids or what each try sets itself.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { grpcRequestHeaders } from "./call-headers.ts";

const call = { path: "/pkg.Svc/Do", authority: "10.0.0.5:50051", timeout: "250m" };

describe("gRPC try headers", () => {
  it("sets the call's pseudo-headers, te, content type and deadline", () => {
    const headers = grpcRequestHeaders([], call);
    assert.deepEqual(
      { ...headers },
      {
        ":method": "POST",
        ":path": "/pkg.Svc/Do",
        ":authority": "10.0.0.5:50051",
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-timeout": "250m",
      },
    );
    assert.equal(
      grpcRequestHeaders([], { ...call, timeout: undefined })["grpc-timeout"],
      undefined,
    );
  });

  it("forwards metadata, repeated names and binary values included", () => {
    const headers = grpcRequestHeaders(
      ["x-tenant", "a", "X-Tag", "1", "x-tag", "2", "trace-bin", "AAEC", "x-request-id", "r1"],
      call,
    );
    assert.equal(headers["x-tenant"], "a");
    assert.deepEqual(headers["x-tag"], ["1", "2"]);
    assert.equal(headers["trace-bin"], "AAEC");
    assert.equal(headers["x-request-id"], "r1");
  });

  it("drops pseudo-headers, connection-specific headers and the client's own deadline", () => {
    const headers = grpcRequestHeaders(
      [
        ":path",
        "/evil",
        ":authority",
        "client.example",
        "host",
        "client.example",
        "connection",
        "keep-alive",
        "te",
        "trailers",
        "transfer-encoding",
        "chunked",
        "content-length",
        "12",
        "grpc-timeout",
        "99S",
      ],
      call,
    );
    assert.equal(headers[":path"], "/pkg.Svc/Do");
    assert.equal(headers[":authority"], "10.0.0.5:50051");
    assert.equal(headers.te, "trailers");
    assert.equal(headers["grpc-timeout"], "250m");
    for (const name of ["host", "connection", "transfer-encoding", "content-length"]) {
      assert.equal(headers[name], undefined, name);
    }
  });

  it("keeps a gRPC content type the client chose, and replaces any other", () => {
    const proto = grpcRequestHeaders(["content-type", "application/grpc+proto"], call);
    assert.equal(proto["content-type"], "application/grpc+proto");
    const json = grpcRequestHeaders(["content-type", "application/json"], call);
    assert.equal(json["content-type"], "application/grpc");
  });
});
