/**
 * @module sdk/grpc-client
 * `serviceClient(name, { protocol: "grpc" })`: gRPC calls to a service's instances that
 * registered with `protocol: grpc`, made by the gateway's own gRPC upstream layer
 * (proxy/grpc): HTTP/2 sessions per instance, the service's selector, health, ejection and
 * breakers, retries on another instance when a call could not connect or ended UNAVAILABLE
 * before any response message, and the deadline sent as `grpc-timeout`. A method is named
 * by its path, a @grpc/grpc-js definition or a @bufbuild/protobuf descriptor (grpc-method.ts).
 */
import { performance } from "node:perf_hooks";
import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from "@opentelemetry/semantic-conventions";
import type { ErrorCode } from "../errors.ts";
import { GrpcStatus } from "../grpc/status.ts";
import { type CallStatus, gatewayStatus } from "../proxy/grpc/call-status.ts";
import { callGrpcUnary } from "../proxy/grpc/unary-call.ts";
import { newRequestId } from "../server/request-id.ts";
import type { Target } from "../upstream/target.ts";
import { currentCallContext } from "./call-context.ts";
import { type ClientOptions, lowerCaseNames } from "./client-options.ts";
import { GrpcCallError, grpcErrorCode } from "./grpc-call-error.ts";
import {
  type GrpcMethod,
  type GrpcRequestOf,
  type GrpcResponseOf,
  type MethodCodec,
  methodCodec,
} from "./grpc-method.ts";
import { GrpcResponseStream, type PreparedCall } from "./grpc-stream.ts";
import type { RegistryInstance } from "./instance-watch.ts";
import { ServiceTargets } from "./service-targets.ts";
import { propagator, sdkTracer } from "./telemetry.ts";

/**
 * How a gRPC client reaches the registry and calls the service (see `ClientOptions`).
 * `maxResponseSize` bounds each response message (default 16mb); `retries.on` retries
 * `connect-failure` and `unavailable` (both by default); `timeout` is sent as `grpc-timeout`.
 */
export interface GrpcServiceClientOptions extends ClientOptions {
  /** Call the service's `protocol: grpc` instances over gRPC. */
  protocol: "grpc";
  /** Metadata sent with every call (a name ending in `-bin` takes base64). */
  metadata?: Record<string, string>;
}

/** What one gRPC call may add to or change from the client's options. */
export interface GrpcCallOptions {
  /** Metadata for this call (over the client's; a name ending in `-bin` takes base64). */
  metadata?: Record<string, string>;
  /** This call's deadline (milliseconds or `"5s"`), instead of the client's `timeout`. */
  timeout?: number | string;
  /** The `x-request-id` to send; default the current request's (see traceHandler), else a new one. */
  requestId?: string;
  /** Aborting it cancels the call; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** A gRPC client for one service. Made by `serviceClient(name, { protocol: "grpc" })`. */
export class GrpcServiceClient {
  /** The service's name in the registry. */
  readonly name: string;
  readonly #targets: ServiceTargets;
  readonly #metadata: Record<string, string>;
  readonly #maxMessageBytes: number;

  /** Use `serviceClient(name, { protocol: "grpc" })`. */
  constructor(name: string, options: GrpcServiceClientOptions) {
    this.#targets = new ServiceTargets(name, options, "grpc");
    this.name = name;
    this.#metadata = lowerCaseNames(options.metadata ?? {});
    this.#maxMessageBytes = this.#targets.maxResponseSize || Number.MAX_SAFE_INTEGER;
  }

  /** The instances as last heard from the registry (down ones and HTTP ones included). */
  get instances(): RegistryInstance[] {
    return this.#targets.instances;
  }

  /** Resolves once the registry has told the client the service's instances (up to `timeoutMs`). */
  async ready(timeoutMs?: number): Promise<void> {
    await this.#targets.whenSynced(timeoutMs);
  }

  /**
   * Makes a unary call and resolves with the response message. `method` is the method's
   * path (the request and the response are then bytes), a @grpc/grpc-js method definition
   * (its `requestSerialize` and `responseDeserialize` are used), or a @bufbuild/protobuf
   * method descriptor (the request may be a message or its init object). Rejects with a
   * GrpcCallError for any status but OK.
   *
   * @example
   * ```ts
   * const inventory = serviceClient("inventory", { protocol: "grpc", timeout: "2s" });
   * const stock = await inventory.unary(InventoryService.method.getStock, { sku: "42" });
   * ```
   */
  async unary<M extends GrpcMethod>(
    method: M,
    request: GrpcRequestOf<M>,
    options: GrpcCallOptions = {},
  ): Promise<GrpcResponseOf<M>> {
    const codec = this.#codec(method, "unary");
    const call = await this.#prepare(codec, request, options);
    const result = await callGrpcUnary({
      ...call.upstream,
      message: call.message,
      maxMessageBytes: this.#maxMessageBytes,
    });
    this.#endSpan(call.span, result.code, result.target);
    if (result.code !== GrpcStatus.OK || result.response === undefined) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw this.#error(
        grpcErrorCode(result, result.outcome, result.malformed),
        result,
        result.target,
        result.retries + 1,
      );
    }
    try {
      return codec.deserialize(result.response) as GrpcResponseOf<M>;
    } catch (error) {
      throw this.#error(
        "GATEHOUSE_UPSTREAM_BAD_RESPONSE",
        gatewayStatus(GrpcStatus.INTERNAL, `the response message could not be read: ${error}`),
        result.target,
        result.retries + 1,
        error,
      );
    }
  }

  /**
   * Makes a server-streaming call: the response messages as they arrive, read with
   * `for await`. Leaving the loop early cancels the call. The stream throws a GrpcCallError
   * when the call ends with a status other than OK (after the messages that came before it).
   */
  serverStream<M extends GrpcMethod>(
    method: M,
    request: GrpcRequestOf<M>,
    options: GrpcCallOptions = {},
  ): AsyncIterableIterator<GrpcResponseOf<M>> {
    const codec = this.#codec(method, "server-streaming");
    return new GrpcResponseStream<GrpcResponseOf<M>>({
      prepare: () => this.#prepare(codec, request, options),
      deserialize: (bytes) => codec.deserialize(bytes) as GrpcResponseOf<M>,
      maxMessageBytes: this.#maxMessageBytes,
      signal: options.signal,
      onEnd: (span, status, target) => this.#endSpan(span, status.code, target),
      error: (code, status, target, tries, cause) =>
        this.#error(code, status, target, tries, cause),
    });
  }

  /** Stops following the registry and closes the HTTP/2 sessions (calls in flight finish). */
  close(): Promise<void> {
    return this.#targets.close();
  }

  #codec(method: GrpcMethod, kind: "unary" | "server-streaming"): MethodCodec {
    const caller = `${this.name}: ${kind === "unary" ? "unary" : "serverStream"}()`;
    const codec = methodCodec(method, caller);
    const streams = kind === "server-streaming";
    if (
      codec.clientStreaming ||
      (codec.serverStreaming !== undefined && codec.serverStreaming !== streams)
    ) {
      throw new TypeError(`${caller}: ${codec.path} is not a ${kind} method`);
    }
    return codec;
  }

  /**
   * Everything up to the first try: the request's bytes, the deadline (waiting for the
   * registry's first answer within it), the metadata with the request id and trace context,
   * and the target of the first try. Throws a GrpcCallError when there is none to try.
   */
  async #prepare(
    codec: MethodCodec,
    request: unknown,
    options: GrpcCallOptions,
  ): Promise<PreparedCall> {
    if (this.#targets.closed) {
      throw this.#error(
        "GATEHOUSE_NO_AVAILABLE_TARGET",
        gatewayStatus(GrpcStatus.UNAVAILABLE, `${this.name}: client closed`),
      );
    }
    const message = codec.serialize(request);
    const service = this.#targets.service;
    const context = currentCallContext();
    const deadline = await this.#targets.callDeadline(options.timeout, context?.deadline);
    const left = deadline === undefined ? 0 : deadline - Date.now();
    if (deadline !== undefined && left <= 0) {
      throw this.#error(
        "GATEHOUSE_UPSTREAM_TIMEOUT",
        gatewayStatus(GrpcStatus.DEADLINE_EXCEEDED, `${this.name}: the call's deadline had passed`),
      );
    }
    const metadata = { ...this.#metadata, ...lowerCaseNames(options.metadata ?? {}) };
    metadata["x-request-id"] = options.requestId ?? context?.requestId ?? newRequestId();
    const selection = { clientAddress: "", headers: metadata, path: codec.path, query: "" };
    const target = service.select(selection);
    if (!target) {
      const cause = this.#targets.discoveryError;
      const why = cause ? ` (the registry could not be followed: ${cause.message})` : "";
      throw this.#error(
        "GATEHOUSE_NO_AVAILABLE_TARGET",
        gatewayStatus(GrpcStatus.UNAVAILABLE, `${this.name}: no instance may take a call${why}`),
        undefined,
        0,
        cause,
      );
    }
    const span = this.#startSpan(codec.path, context?.trace ?? ROOT_CONTEXT, metadata);
    const pairs: string[] = [];
    for (const [name, value] of Object.entries(metadata)) pairs.push(name, value);
    return {
      upstream: {
        service,
        target,
        selection,
        path: codec.path,
        metadata: pairs,
        ...(deadline !== undefined && { timeout: left, receivedAt: performance.now() }),
        ...(options.signal && { signal: options.signal }),
      },
      message,
      span,
    };
  }

  /** The call's client span; its context goes into `metadata` (`traceparent`). */
  #startSpan(path: string, parent: Context, metadata: Record<string, string>): Span {
    const [rpcService, rpcMethod] = path.slice(1).split("/") as [string, string];
    const span = sdkTracer().startSpan(
      `${rpcService}/${rpcMethod}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "rpc.system": "grpc",
          "rpc.service": rpcService,
          "rpc.method": rpcMethod,
          "gatehouse.service": this.name,
        },
      },
      parent,
    );
    propagator.inject(trace.setSpan(parent, span), metadata, {
      set: (carrier, key, value) => {
        (carrier as Record<string, string>)[key] = value;
      },
    });
    return span;
  }

  #endSpan(span: Span, code: number, target: Target | undefined): void {
    if (span.isRecording()) {
      span.setAttribute("rpc.grpc.status_code", code);
      if (target) {
        span.setAttribute(ATTR_SERVER_ADDRESS, target.hostname);
        span.setAttribute(ATTR_SERVER_PORT, target.port);
      }
      if (code !== GrpcStatus.OK) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }

  #error(
    code: ErrorCode,
    status: CallStatus,
    target?: Target,
    tries = 0,
    cause?: unknown,
  ): GrpcCallError {
    const message = status.message.startsWith(`${this.name}: `)
      ? status.message
      : `${this.name}: ${status.message}`;
    return new GrpcCallError(code, message, {
      service: this.name,
      target: target?.url,
      tries,
      status,
      cause,
    });
  }
}
