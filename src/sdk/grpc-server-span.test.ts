import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { currentCallContext } from "./call-context.ts";
import {
  type GrpcHandlerError,
  type GrpcServerCallLike,
  grpcErrorOf,
  traceGrpcHandler,
} from "./grpc-server-span.ts";

/** A server call as @grpc/grpc-js hands it over: metadata (lists per key) and a deadline. */
function callWith(metadata: Record<string, string>, deadline: Date | number = Infinity) {
  return {
    request: { id: "7" },
    metadata: { get: (key: string) => (key in metadata ? [metadata[key]!] : []) },
    getDeadline: () => deadline,
  } satisfies GrpcServerCallLike & { request: unknown };
}

function answer<Res>(
  wrapped: (
    call: ReturnType<typeof callWith>,
    cb: (e: GrpcHandlerError | null, r?: Res) => void,
  ) => void,
  call: ReturnType<typeof callWith>,
) {
  return new Promise<{ error: GrpcHandlerError | null; response?: Res }>((resolve) =>
    wrapped(call, (error, response) => resolve({ error, response })),
  );
}

describe("traceGrpcHandler", () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });

  before(() => trace.setGlobalTracerProvider(provider));
  after(() => trace.disable());

  it("continues the caller's traceparent and runs the handler in its call context", async () => {
    exporter.reset();
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    let seen: ReturnType<typeof currentCallContext>;
    const handler = traceGrpcHandler(
      "/shop.v1.Stock/Get",
      async (call: ReturnType<typeof callWith>) => {
        seen = currentCallContext();
        return { id: call.request.id };
      },
    );
    const deadline = new Date(Date.now() + 5_000);
    const result = await answer(
      handler,
      callWith(
        { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, "x-request-id": "req-1" },
        deadline,
      ),
    );
    assert.deepEqual(result, { error: null, response: { id: "7" } });
    assert.equal(seen?.requestId, "req-1");
    assert.equal(seen?.deadline, deadline.getTime());
    assert.equal(trace.getSpan(seen!.trace!)?.spanContext().traceId, traceId);
    const [span] = exporter.getFinishedSpans();
    assert.equal(span?.name, "shop.v1.Stock/Get");
    assert.equal(span?.kind, SpanKind.SERVER);
    assert.equal(span?.spanContext().traceId, traceId);
    assert.equal(span?.parentSpanContext?.spanId, "00f067aa0ba902b7");
    assert.equal(span?.attributes["rpc.system"], "grpc");
    assert.equal(span?.attributes["rpc.service"], "shop.v1.Stock");
    assert.equal(span?.attributes["rpc.method"], "Get");
    assert.equal(span?.attributes["rpc.grpc.status_code"], 0);
  });

  it("answers a thrown gRPC error as it is, and anything else as INTERNAL with an error span", async () => {
    exporter.reset();
    const notFound = traceGrpcHandler("shop.v1.Stock/Get", () => {
      throw Object.assign(new Error("no such product"), { code: 5, details: "no such product" });
    });
    const crashed = traceGrpcHandler("shop.v1.Stock/Get", async () => {
      throw new TypeError("x is undefined");
    });
    assert.deepEqual((await answer(notFound, callWith({}))).error, {
      code: 5,
      details: "no such product",
    });
    assert.deepEqual((await answer(crashed, callWith({}))).error, {
      code: 13,
      details: "internal error",
    });
    const [first, second] = exporter.getFinishedSpans();
    assert.equal(first?.status.code, SpanStatusCode.UNSET);
    assert.equal(first?.attributes["rpc.grpc.status_code"], 5);
    assert.equal(second?.status.code, SpanStatusCode.ERROR);
    assert.equal(second?.events[0]?.name, "exception");
    assert.match(String(first?.attributes["gatehouse.request_id"]), /^[0-9a-f-]{36}$/);
  });

  it("passes on the status of a failed call to another service", () => {
    const failed = Object.assign(new Error("upstream"), {
      code: "GATEHOUSE_UPSTREAM_CONNECT_FAILED",
      grpcStatus: 14,
      grpcMessage: "connect failed",
    });
    assert.deepEqual(grpcErrorOf(failed), { code: 14, details: "connect failed" });
    assert.deepEqual(grpcErrorOf(Object.assign(new Error("x"), { code: "ECONNRESET" })), {
      code: 13,
      details: "internal error",
    });
  });
});
