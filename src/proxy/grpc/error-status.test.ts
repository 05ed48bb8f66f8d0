// Errors the gateway makes, as a gRPC client sees them: each catalogue code has one gRPC
// status (the table in docs/grpc.md is the same), answered trailers-only before a response
// began or as trailers after one, read by a real grpc-js client.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Http2ServerResponse } from "node:http2";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { type ErrorCode, errorCatalogue } from "../../errors.ts";
import { GrpcStatus, grpcStatusName } from "../../grpc/status.ts";
import { grpcStatusOfError, isGrpcRequest, sendGrpcError, sendGrpcStatus } from "./error-status.ts";

describe("gRPC statuses of the gateway's errors", () => {
  it("gives the statuses gRPC clients expect for the common refusals", () => {
    const expected: Partial<Record<ErrorCode, number>> = {
      GATEHOUSE_UNAUTHORIZED: GrpcStatus.UNAUTHENTICATED,
      GATEHOUSE_FORBIDDEN: GrpcStatus.PERMISSION_DENIED,
      GATEHOUSE_RATE_LIMITED: GrpcStatus.RESOURCE_EXHAUSTED,
      GATEHOUSE_NO_AVAILABLE_TARGET: GrpcStatus.UNAVAILABLE,
      GATEHOUSE_UPSTREAM_CONNECT_FAILED: GrpcStatus.UNAVAILABLE,
      GATEHOUSE_UPSTREAM_TIMEOUT: GrpcStatus.DEADLINE_EXCEEDED,
      GATEHOUSE_INTERNAL: GrpcStatus.INTERNAL,
      GATEHOUSE_ROUTE_NOT_FOUND: GrpcStatus.UNIMPLEMENTED,
      GATEHOUSE_BODY_TOO_LARGE: GrpcStatus.RESOURCE_EXHAUSTED,
    };
    for (const [code, status] of Object.entries(expected)) {
      assert.equal(grpcStatusOfError[code as ErrorCode], status, code);
    }
  });

  it("has one row per catalogue code in docs/grpc.md, with the same status", () => {
    const docs = readFileSync(new URL("../../../docs/grpc.md", import.meta.url), "utf8");
    const rows = new Map<string, string>();
    for (const [, code, status] of docs.matchAll(/^\| `(GATEHOUSE_\w+)` \| (\d+ `\w+`) \|$/gm)) {
      assert.ok(!rows.has(code!), `${code} documented twice`);
      rows.set(code!, status!);
    }
    assert.deepEqual([...rows.keys()].sort(), Object.keys(errorCatalogue).sort());
    for (const [code, status] of rows) {
      const number = grpcStatusOfError[code as ErrorCode];
      assert.equal(status, `${number} \`${grpcStatusName(number)}\``, code);
    }
  });

  it("tells gRPC requests by their content type", () => {
    for (const type of ["application/grpc", "application/grpc+proto", "application/grpc+json"]) {
      assert.equal(isGrpcRequest(type), true, type);
    }
    for (const type of [
      undefined,
      "application/json",
      "application/grpc-web",
      "application/grpcx",
    ]) {
      assert.equal(isGrpcRequest(type), false, String(type));
    }
  });
});

describe("gRPC error answers, read by a grpc-js client", () => {
  let answer: (res: Http2ServerResponse) => void = () => {};
  const server = createServer((_req, res) => answer(res));
  let client: grpc.Client;
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });
  after(() => {
    client.close();
    server.close();
  });

  const raw = (b: Buffer) => b;
  const call = () =>
    new Promise<{ error: grpc.ServiceError; metadata: grpc.Metadata }>((resolve) => {
      let metadata = new grpc.Metadata();
      const unary = client.makeUnaryRequest("/pkg.Svc/Do", raw, raw, Buffer.alloc(0), (error) =>
        resolve({ error: error!, metadata }),
      );
      unary.on("metadata", (received) => {
        metadata = received;
      });
    });

  it("answers before any response as a trailers-only status, with the request id", async () => {
    answer = (res) => sendGrpcError(res, "GATEHOUSE_UNAUTHORIZED", "req-7");
    const { error } = await call();
    assert.equal(error.code, grpc.status.UNAUTHENTICATED);
    assert.equal(error.details, errorCatalogue.GATEHOUSE_UNAUTHORIZED.message);
    assert.deepEqual(error.metadata.get("x-request-id"), ["req-7"]);
  });

  it("percent-encodes a message outside printable ASCII, as the client decodes it", async () => {
    answer = (res) => sendGrpcStatus(res, GrpcStatus.RESOURCE_EXHAUSTED, "100% full — try later");
    const { error } = await call();
    assert.equal(error.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(error.details, "100% full — try later");
  });

  it("answers after a response began as trailers", async () => {
    answer = (res) => {
      res.writeHead(200, { "content-type": "application/grpc", "x-began": "yes" });
      sendGrpcError(res, "GATEHOUSE_UPSTREAM_TIMEOUT", "req-8");
    };
    const { error, metadata } = await call();
    assert.equal(error.code, grpc.status.DEADLINE_EXCEEDED);
    assert.deepEqual(metadata.get("x-began"), ["yes"]);
  });
});
