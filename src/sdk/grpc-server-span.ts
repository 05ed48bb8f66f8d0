/**
 * @module sdk/grpc-server-span
 * `traceGrpcHandler()`: what `traceHandler()` is to `node:http`, for the unary handlers of a
 * @grpc/grpc-js server (or any server whose calls carry metadata and answer through a
 * `(error, response)` callback). Each call gets a server span, a child of the caller's
 * `traceparent` metadata (the gateway's try, or another service's `serviceClient` call), and
 * runs inside a call context (call-context.ts) holding its request id, its trace and the
 * caller's deadline, so the calls and events made while handling it continue the same trace.
 * It also counts the calls being handled, which `Registration.close()` waits for.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from "@opentelemetry/api";
import { newRequestId } from "../server/request-id.ts";
import { handlingEnded, handlingStarted, withCallContext } from "./call-context.ts";
import { propagator, sdkTracer } from "./telemetry.ts";

/** What the helper reads of a server call: @grpc/grpc-js's `ServerUnaryCall` has it. */
export interface GrpcServerCallLike {
  readonly metadata: { get(key: string): (string | Buffer)[] };
  /** The caller's deadline (`Infinity` for none), as @grpc/grpc-js gives it. */
  getDeadline?(): Date | number;
}

/** An error as a gRPC server's callback takes it: a status `code`, its `details`, metadata. */
export interface GrpcHandlerError {
  code: number;
  details: string;
  metadata?: unknown;
}

/** The `(error, response)` callback a unary handler answers through (`sendUnaryData`). */
export type GrpcUnaryCallback<Res> = (error: GrpcHandlerError | null, response?: Res) => void;

const validRequestId = /^[A-Za-z0-9._:-]{1,128}$/;
const INTERNAL = 13;
// The statuses that make a server span an error (OpenTelemetry's RPC conventions for gRPC).
const serverErrors = new Set([2, 4, 12, 13, 14, 15]);

const metadataGetter: TextMapGetter<GrpcServerCallLike["metadata"]> = {
  get: (metadata, key) => {
    const value = metadata.get(key)[0];
    return value === undefined ? undefined : String(value);
  },
  keys: () => ["traceparent", "tracestate"],
};

/**
 * The gRPC status of what a handler threw: its own numeric `code` (0-16), a failed call to
 * another service's status (`grpcStatus` of a `GrpcCallError`), else INTERNAL.
 */
export function grpcErrorOf(error: unknown): GrpcHandlerError {
  const e = error as {
    code?: unknown;
    grpcStatus?: unknown;
    details?: unknown;
    grpcMessage?: unknown;
    message?: unknown;
    metadata?: unknown;
  };
  if (typeof e?.code === "number" && Number.isInteger(e.code) && e.code > 0 && e.code <= 16) {
    const details = typeof e.details === "string" ? e.details : String(e.message ?? "");
    return e.metadata === undefined
      ? { code: e.code, details }
      : { code: e.code, details, metadata: e.metadata };
  }
  if (typeof e?.grpcStatus === "number" && e.grpcStatus > 0 && e.grpcStatus <= 16) {
    return { code: e.grpcStatus, details: String(e.grpcMessage ?? e.message ?? "") };
  }
  return { code: INTERNAL, details: "internal error" };
}

/**
 * Wraps a unary handler that returns (or resolves with) the response and throws a gRPC
 * error (`{ code, details, metadata? }`, see `grpcErrorOf`) into a @grpc/grpc-js
 * `handleUnaryCall`. `path` is the method's `package.Service/Method`, the span's name.
 *
 * @example
 * ```ts
 * server.addService(definition["shop.v1.Stock"], {
 *   GetStock: traceGrpcHandler("shop.v1.Stock/GetStock", async (call) => ({ count: 7 })),
 * });
 * ```
 */
export function traceGrpcHandler<Call extends GrpcServerCallLike, Res>(
  path: string,
  handler: (call: Call) => Res | Promise<Res>,
): (call: Call, callback: GrpcUnaryCallback<Res>) => void {
  const name = path.replace(/^\//, "");
  const slash = name.lastIndexOf("/");
  const service = name.slice(0, slash);
  const method = name.slice(slash + 1);
  return function traced(call: Call, callback: GrpcUnaryCallback<Res>): void {
    const parent = propagator.extract(ROOT_CONTEXT, call.metadata, metadataGetter);
    const given = String(call.metadata.get("x-request-id")[0] ?? "");
    const requestId = validRequestId.test(given) ? given : newRequestId();
    const span = sdkTracer().startSpan(
      name,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "rpc.system": "grpc",
          "rpc.service": service,
          "rpc.method": method,
          "gatehouse.request_id": requestId,
        },
      },
      parent,
    );
    const deadline = call.getDeadline?.();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
    handlingStarted();
    const finish = (error: GrpcHandlerError | null, response?: Res, thrown?: unknown): void => {
      const code = error ? error.code : 0;
      span.setAttribute("rpc.grpc.status_code", code);
      if (serverErrors.has(code)) {
        if (thrown instanceof Error) span.recordException(thrown);
        span.setStatus({ code: SpanStatusCode.ERROR, message: error?.details });
      }
      span.end();
      handlingEnded();
      callback(error, response);
    };
    const context = {
      requestId,
      trace: trace.setSpan(parent, span),
      deadline: deadlineMs !== undefined && Number.isFinite(deadlineMs) ? deadlineMs : undefined,
    };
    Promise.resolve()
      .then(() => withCallContext(context, () => handler(call)))
      .then(
        (response) => finish(null, response),
        (error: unknown) => finish(grpcErrorOf(error), undefined, error),
      );
  };
}
