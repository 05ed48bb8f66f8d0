/**
 * @module sdk/service-client
 * `serviceClient(name)`: calls another service's instances as the gateway would. Its
 * instances come from the registry's watch stream (instance-watch.ts) and become targets of
 * a Service built from the client's options (client-config.ts), held in a TargetRegistry as
 * the gateway holds its own, so a target keeps its health, ejection and breaker state for
 * as long as its instance stays registered. Each call (service-call.ts) carries the current
 * request's id, trace and remaining deadline (call-context.ts).
 */
import { INVALID_SPAN_CONTEXT, trace } from "@opentelemetry/api";
import { RequestTrace } from "../observability/tracing.ts";
import { TargetRegistry } from "../runtime/target-registry.ts";
import { newRequestId } from "../server/request-id.ts";
import { Service } from "../upstream/service.ts";
import { currentCallContext } from "./call-context.ts";
import { type ClientUpstreamOptions, clientSettings } from "./client-config.ts";
import { earliestDeadline, timeoutMs } from "./deadline.ts";
import { InstanceWatch, type RegistryInstance } from "./instance-watch.ts";
import { registryEndpoint } from "./registry-endpoint.ts";
import { call } from "./service-call.ts";
import { ServiceCallError, type ServiceResponse } from "./service-call-error.ts";
import { propagator, sdkTracer } from "./telemetry.ts";

export type { RegistryInstance } from "./instance-watch.ts";

/**
 * How a client reaches the registry and calls the service. The upstream settings take the
 * names, units (`"250ms"`, `"5s"`) and defaults of a service in the gateway's config file
 * (docs/config.md): no breaker unless `circuitBreaker` is given, 2 retries of idempotent
 * requests on connect failures, timeouts, resets, 502, 503 and 504, within a retry budget.
 */
export interface ServiceClientOptions extends ClientUpstreamOptions {
  /** The registry API's base URL; default `GATEHOUSE_REGISTRY`. */
  registry?: string | URL;
  /** A registry (or admin) key; default `GATEHOUSE_REGISTRY_KEY`. */
  key?: string;
  /**
   * The whole call's deadline, retries included (milliseconds or `"5s"`); default none. A call
   * made while handling a request never outlives that request's own deadline either.
   */
  timeout?: number | string;
  /** Retries after the first try (a number), or the config file's whole `retries` block. */
  retries?: ClientUpstreamOptions["retries"];
  /** The balancing algorithm (`"round-robin"`, `"least-connections"`, …) or a `loadBalancer` block. */
  loadBalancer?: ClientUpstreamOptions["loadBalancer"];
  /** Headers sent with every call. */
  headers?: Record<string, string>;
  /**
   * How long a call made before the first answer from the registry waits for it (milliseconds);
   * default 5000. A call never waits past its deadline.
   */
  discoveryTimeout?: number;
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
  readonly #service: Service;
  readonly #pool = new TargetRegistry();
  readonly #watch: InstanceWatch;
  readonly #maxResponseSize: number;
  readonly #headers: Record<string, string>;
  readonly #discoveryTimeout: number;
  #closed = false;

  /** Use `serviceClient()`. */
  constructor(name: string, options: ServiceClientOptions = {}) {
    if (typeof name !== "string" || name === "") {
      throw new TypeError("serviceClient(name): name must be a non-empty string");
    }
    const caller = `serviceClient(${JSON.stringify(name)})`;
    const endpoint = registryEndpoint(options.registry, options.key, caller);
    const settings = clientSettings(name, options);
    this.name = name;
    this.#service = new Service(settings.config);
    this.#maxResponseSize = settings.maxResponseSize;
    this.#headers = lowerCaseKeys(options.headers ?? {});
    this.#discoveryTimeout = options.discoveryTimeout ?? 5_000;
    this.#watch = new InstanceWatch(endpoint, name, (instances) => this.#setInstances(instances));
  }

  /** The instances as last heard from the registry (down ones included). */
  get instances(): RegistryInstance[] {
    return this.#watch.instances;
  }

  /** Resolves once the registry has told the client the service's instances (up to `timeoutMs`). */
  async ready(timeoutMs = this.#discoveryTimeout): Promise<void> {
    await this.#watch.whenSynced(timeoutMs);
  }

  /**
   * Sends one request to an instance of the service (retried, balanced and broken as the
   * gateway does) and resolves with the answer, whatever its status. Rejects with a
   * ServiceCallError when no answer could be had.
   */
  async request(options: RequestOptions): Promise<ServiceAnswer> {
    if (this.#closed) {
      throw new ServiceCallError("GATEHOUSE_NO_AVAILABLE_TARGET", `${this.name}: client closed`, {
        service: this.name,
        tries: 0,
      });
    }
    const context = currentCallContext();
    const timeout =
      options.timeout === undefined
        ? this.#service.timeouts.total
        : timeoutMs(options.timeout, `${this.name}: timeout`);
    const deadline = earliestDeadline(timeout, context?.deadline);
    if (!this.#watch.synced) {
      const wait = deadline === undefined ? this.#discoveryTimeout : deadline - Date.now();
      await this.#watch.whenSynced(Math.min(this.#discoveryTimeout, wait));
    }
    const method = options.method.toUpperCase();
    const headers = { ...this.#headers, ...lowerCaseKeys(options.headers ?? {}) };
    headers["x-request-id"] = options.requestId ?? context?.requestId ?? newRequestId();
    const pairs: string[] = [];
    for (const [name, value] of Object.entries(headers)) {
      if (name !== "host") pairs.push(name, value);
    }
    const queryAt = options.path.indexOf("?");
    const parent = context?.trace && trace.getSpan(context.trace);
    const response = await call({
      service: this.#service,
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
      maxResponseSize: this.#maxResponseSize,
      trace: new RequestTrace(
        parent ?? trace.wrapSpanContext(INVALID_SPAN_CONTEXT),
        sdkTracer(),
        propagator,
      ),
    }).catch((error: unknown) => {
      throw this.#withDiscoveryCause(error);
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
  async close(): Promise<void> {
    this.#closed = true;
    await this.#watch.close();
    this.#service.setTargets([], this.#pool);
    this.#pool.release([...this.#pool.values()]);
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

  /** The registry's instances became these: the up HTTP ones are the service's targets. */
  #setInstances(instances: readonly RegistryInstance[]): void {
    if (this.#closed) return;
    const { removed } = this.#service.setTargets(
      instances
        .filter((instance) => instance.state === "up" && instance.protocol !== "grpc")
        .map((instance) => ({
          url: instance.url,
          weight: instance.weight ?? 1,
          zone: instance.zone,
          metadata: instance.metadata,
        })),
      this.#pool,
    );
    // Gone or down: no new calls; calls in flight to it finish, then its connections close.
    this.#pool.release(removed);
  }

  /** A call that found no target while the registry could not be followed says why. */
  #withDiscoveryCause(error: unknown): unknown {
    const cause = this.#watch.lastError;
    if (
      !(error instanceof ServiceCallError) ||
      error.code !== "GATEHOUSE_NO_AVAILABLE_TARGET" ||
      !cause
    ) {
      return error;
    }
    return new ServiceCallError(
      error.code,
      `${error.message} (the registry could not be followed: ${cause.message})`,
      { service: this.name, tries: 0, cause },
    );
  }
}

/**
 * A client for the service `name`: it follows the service's instances in the registry and
 * calls them with the gateway's own load balancing, health and outlier state, circuit
 * breakers, retry policy and budget, and timeouts. Calls carry `traceparent`, `x-request-id`
 * and the remaining deadline (`x-request-timeout-ms`) of the request being handled, and are
 * traced as client spans.
 *
 * @example
 * ```ts
 * import { serviceClient } from "gatehouse-gateway/sdk";
 * const inventory = serviceClient("inventory", { registry: "http://127.0.0.1:9903", timeout: "2s" });
 * const stock = await inventory.get("/stock/42");
 * ```
 */
export function serviceClient(name: string, options?: ServiceClientOptions): ServiceClient {
  return new ServiceClient(name, options);
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = String(value);
  return lower;
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
