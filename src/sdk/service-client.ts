/**
 * @module sdk/service-client
 * `serviceClient(name)`: calls another service's instances as the gateway would. Its
 * instances come from the registry (its API's watch stream, or etcd) and become the targets
 * of a Service of the gateway's upstream layer (service-targets.ts), so a target keeps its
 * health, ejection and breaker state for as long as its instance stays registered. Each
 * HTTP call (service-call.ts) carries the current request's id, trace and remaining
 * deadline (call-context.ts); `protocol: "grpc"` gives a GrpcServiceClient instead
 * (grpc-client.ts).
 */
import { INVALID_SPAN_CONTEXT, trace } from "@opentelemetry/api";
import { OtelRequestTrace } from "../observability/tracing/otel-request-trace.ts";
import { newRequestId } from "../server/request-id.ts";
import { currentCallContext } from "./call-context.ts";
import { type ClientOptions, lowerCaseNames } from "./client-options.ts";
import { GrpcServiceClient, type GrpcServiceClientOptions } from "./grpc-client.ts";
import type { RegistryInstance } from "./instance-watch.ts";
import { call } from "./service-call.ts";
import { ServiceCallError, type ServiceResponse } from "./service-call-error.ts";
import { ServiceTargets } from "./service-targets.ts";
import { propagator, sdkTracer } from "./telemetry.ts";

export type { RegistryInstance } from "./instance-watch.ts";

/** How a client reaches the registry and calls the service over HTTP (see `ClientOptions`). */
export interface ServiceClientOptions extends ClientOptions {
  /** `http` (the default): JSON over HTTP/1.1. `grpc` makes a `GrpcServiceClient`. */
  protocol?: "http";
  /** Headers sent with every call. */
  headers?: Record<string, string>;
}

/** What one call may add to or change from the client's options. */
export interface CallOptions {
  /** Headers for this call (over the client's). */
  headers?: Record<string, string>;
  /** This call's deadline (milliseconds or `"5s"`), instead of the client's `timeout`. */
  timeout?: number | string;
  /** The `x-request-id` to send; default the current request's (see traceHandler), else a new one. */
  requestId?: string;
}

/** A lower-level call: any method, a raw body, and the answer whatever its status. */
export interface RequestOptions extends CallOptions {
  method: string;
  /** Path and query, e.g. `/stock/42?warehouse=2`. */
  path: string;
  /** Sent as is (a string as UTF-8); give `content-type` in `headers`. */
  body?: Buffer | Uint8Array | string;
}

/** A service's answer with helpers to read its body. */
export interface ServiceAnswer extends ServiceResponse {
  /** The body as UTF-8 text. */
  text(): string;
  /** The body parsed as JSON (undefined when empty); a body that is not JSON throws. */
  json<T = unknown>(): T;
}

/** A client for one service. Made by `serviceClient()`. */
export class ServiceClient {
  /** The service's name in the registry. */
  readonly name: string;
  readonly #targets: ServiceTargets;
  readonly #headers: Record<string, string>;

  /** Use `serviceClient()`. */
  constructor(name: string, options: ServiceClientOptions = {}) {
    this.#targets = new ServiceTargets(name, options, "http");
    this.name = name;
    this.#headers = lowerCaseNames(options.headers ?? {});
  }

  /** The instances as last heard from the registry (down ones included). */
  get instances(): RegistryInstance[] {
    return this.#targets.instances;
  }

  /** Resolves once the registry has told the client the service's instances (up to `timeoutMs`). */
  async ready(timeoutMs?: number): Promise<void> {
    await this.#targets.whenSynced(timeoutMs);
  }

  /**
   * Sends one request to an instance of the service (retried, balanced and broken as the
   * gateway does) and resolves with the answer, whatever its status. Rejects with a
   * ServiceCallError when no answer could be had.
   */
  async request(options: RequestOptions): Promise<ServiceAnswer> {
    if (this.#targets.closed) {
      throw new ServiceCallError("GATEHOUSE_NO_AVAILABLE_TARGET", `${this.name}: client closed`, {
        service: this.name,
        tries: 0,
      });
    }
    const context = currentCallContext();
    const deadline = await this.#targets.callDeadline(options.timeout, context?.deadline);
    const method = options.method.toUpperCase();
    const headers = { ...this.#headers, ...lowerCaseNames(options.headers ?? {}) };
    headers["x-request-id"] = options.requestId ?? context?.requestId ?? newRequestId();
    const pairs: string[] = [];
    for (const [name, value] of Object.entries(headers)) {
      if (name !== "host") pairs.push(name, value);
    }
    const queryAt = options.path.indexOf("?");
    const parent = context?.trace && trace.getSpan(context.trace);
    const response = await call({
      service: this.#targets.service,
      method,
      path: options.path,
      headers: pairs,
      body: bodyBuffer(options.body),
      selection: {
        clientAddress: "",
        headers,
        path: queryAt === -1 ? options.path : options.path.slice(0, queryAt),
        query: queryAt === -1 ? "" : options.path.slice(queryAt + 1),
      },
      deadline,
      maxResponseSize: this.#targets.maxResponseSize,
      trace: new OtelRequestTrace(
        parent ?? trace.wrapSpanContext(INVALID_SPAN_CONTEXT),
        sdkTracer(),
        propagator,
      ),
    }).catch((error: unknown) => {
      throw this.#targets.withDiscoveryCause(error);
    });
    return answerOf(response);
  }

  /** GET `path`; resolves with the parsed JSON answer (see `post`). */
  get<T = unknown>(path: string, options?: CallOptions): Promise<T> {
    return this.#json("GET", path, undefined, options);
  }

  /**
   * POST `body` as JSON to `path`. Resolves with the answer parsed as JSON (text when it is not
   * JSON, undefined when empty); rejects with a ServiceCallError, `GATEHOUSE_UPSTREAM_ERROR_STATUS`
   * for a 4xx or 5xx answer. POST is not retried once sent unless `retries.retryNonIdempotent`.
   */
  post<T = unknown>(path: string, body?: unknown, options?: CallOptions): Promise<T> {
    return this.#json("POST", path, body, options);
  }

  /** PUT `body` as JSON to `path` (see `post`). */
  put<T = unknown>(path: string, body?: unknown, options?: CallOptions): Promise<T> {
    return this.#json("PUT", path, body, options);
  }

  /** PATCH `body` as JSON to `path` (see `post`). */
  patch<T = unknown>(path: string, body?: unknown, options?: CallOptions): Promise<T> {
    return this.#json("PATCH", path, body, options);
  }

  /** DELETE `path` (see `post`). */
  delete<T = unknown>(path: string, options?: CallOptions): Promise<T> {
    return this.#json("DELETE", path, undefined, options);
  }

  /**
   * Stops following the registry and closes the connections (calls in flight finish). The
   * registry's watch stream keeps the process alive until then.
   */
  close(): Promise<void> {
    return this.#targets.close();
  }

  async #json<T>(
    method: string,
    path: string,
    body: unknown,
    options: CallOptions | undefined,
  ): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const answer = await this.request({
      ...options,
      method,
      path,
      headers: { ...headers, ...options?.headers },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    let parsed: unknown;
    try {
      parsed = readBody(answer);
    } catch (error) {
      throw new ServiceCallError(
        "GATEHOUSE_UPSTREAM_BAD_RESPONSE",
        `${this.name}: the answer says it is JSON but is not`,
        { service: this.name, target: answer.target, tries: answer.tries, cause: error },
      );
    }
    if (answer.status >= 400) {
      throw new ServiceCallError(
        "GATEHOUSE_UPSTREAM_ERROR_STATUS",
        `${this.name}: ${method} ${path} answered ${answer.status}`,
        {
          service: this.name,
          target: answer.target,
          tries: answer.tries,
          response: { ...answer, json: parsed },
        },
      );
    }
    return parsed as T;
  }
}

/**
 * A client for the service `name`: it follows the service's instances in the registry (a
 * gateway's registry API, or etcd with `etcd`) and calls those that pass its `filter` with
 * the gateway's own load balancing (zone-aware with `zone`), health and outlier state,
 * circuit breakers, retry policy and budget, and timeouts. Calls carry `traceparent`,
 * `x-request-id` and the remaining deadline of the request being handled, and are traced as
 * client spans. With `protocol: "grpc"` it is a GrpcServiceClient, for the instances
 * registered with `protocol: grpc`; otherwise it speaks JSON over HTTP to the `http` ones.
 *
 * @example
 * ```ts
 * import { serviceClient } from "gatehouse-gateway/sdk";
 * const inventory = serviceClient("inventory", { registry: "http://127.0.0.1:9903", timeout: "2s" });
 * const stock = await inventory.get("/stock/42");
 * // gRPC, straight from etcd, only 1.x instances, preferring this zone:
 * const pricing = serviceClient("pricing", {
 *   protocol: "grpc",
 *   etcd: { endpoints: ["http://10.0.0.5:2379"], prefix: "/shop/" },
 *   filter: { version: "^1.0.0" },
 *   zone: "eu-1",
 * });
 * const price = await pricing.unary(PricingService.method.getPrice, { sku: "42" });
 * ```
 */
export function serviceClient(name: string, options: GrpcServiceClientOptions): GrpcServiceClient;
export function serviceClient(name: string, options?: ServiceClientOptions): ServiceClient;
export function serviceClient(
  name: string,
  options?: ServiceClientOptions | GrpcServiceClientOptions,
): ServiceClient | GrpcServiceClient {
  if (options?.protocol === "grpc") return new GrpcServiceClient(name, options);
  if (options?.protocol !== undefined && options.protocol !== "http") {
    throw new TypeError(
      `serviceClient(${JSON.stringify(name)}): protocol must be "http" or "grpc"`,
    );
  }
  return new ServiceClient(name, options as ServiceClientOptions | undefined);
}

function bodyBuffer(body: RequestOptions["body"]): Buffer | undefined {
  if (body === undefined) return undefined;
  if (typeof body === "string") return Buffer.from(body, "utf8");
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function answerOf(response: ServiceResponse): ServiceAnswer {
  return {
    ...response,
    text: () => response.body.toString("utf8"),
    json: <T>() =>
      (response.body.length === 0 ? undefined : JSON.parse(response.body.toString("utf8"))) as T,
  };
}

/** The answer's body: JSON when it says so, text otherwise, undefined when empty. */
function readBody(answer: ServiceAnswer): unknown {
  if (answer.body.length === 0) return undefined;
  const type = answer.headers["content-type"];
  const contentType = Array.isArray(type) ? type[0] : type;
  if (contentType && /[/+]json\b/i.test(contentType)) return answer.json();
  return answer.text();
}
