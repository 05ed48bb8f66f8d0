/**
 * @module observability/tracing
 * OpenTelemetry tracing: a server span per request and a client span per upstream try,
 * exported over OTLP/HTTP in batches. The caller's trace context is read from the
 * configured formats (W3C trace context, B3) and each try's own context is written into
 * the upstream headers, so the upstream's spans hang under the try that reached it.
 *
 * Spans are passed explicitly (the request's record carries them), not through
 * AsyncLocalStorage, and nothing is registered globally: the gateway's tracer cannot be
 * confused with one an embedding application set up. When tracing is off none of this
 * is built and the request path only tests one field for undefined.
 */
import type { IncomingMessage } from "node:http";
import {
  type Context,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  type TextMapSetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { CompositePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { B3InjectEncoding, B3Propagator } from "@opentelemetry/propagator-b3";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  ATTR_URL_FULL,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from "@opentelemetry/semantic-conventions";
import type { GatehouseConfig } from "../config/schema/index.ts";
import { setHeader } from "../proxy/headers.ts";
import type { ExchangeObserver, GatewayResponse } from "../server/exchange.ts";
import type { Target } from "../upstream/target.ts";
import { gatehouseVersion } from "../version.ts";

type TracingConfig = GatehouseConfig["gateway"]["tracing"];

/** What tracing needs from the gateway. */
export interface TracingHost {
  /** The client address as the gateway judges it (trusted proxies applied). */
  clientAddress(req: IncomingMessage): string;
  /** Where spans go; the OTLP/HTTP exporter for the configured endpoint unless a test injects one. */
  exporter?: SpanExporter;
}

/** Gatehouse's own span attributes, beside the semantic conventions. */
const ATTR_ROUTE = "gatehouse.route";
const ATTR_SERVICE = "gatehouse.service";
const ATTR_REQUEST_ID = "gatehouse.request_id";
const ATTR_ERROR_CODE = "gatehouse.error_code";
const ATTR_CONSUMER = "gatehouse.consumer";

/** Writes propagation headers into an upstream header list (after its `host` pair). */
const headerListSetter: TextMapSetter<string[]> = {
  set(headers, name, value) {
    setHeader(headers, name, value, 2);
  },
};

/** One request's spans: the server span, and the try under way. */
export class RequestTrace {
  readonly span: Span;
  /** Hex trace id, for the access log (also when this trace is not sampled). */
  readonly traceId: string;
  readonly #tracer: Tracer;
  readonly #propagator: TextMapPropagator;
  readonly #context: Context;

  constructor(span: Span, tracer: Tracer, propagator: TextMapPropagator) {
    this.span = span;
    this.traceId = span.spanContext().traceId;
    this.#tracer = tracer;
    this.#propagator = propagator;
    this.#context = trace.setSpan(ROOT_CONTEXT, span);
  }

  /**
   * Starts the client span of one upstream try and writes its context into `headers`,
   * replacing whatever trace headers the client sent.
   */
  startTry(
    target: Target,
    method: string,
    path: string,
    headers: string[],
    resendCount: number,
  ): Span {
    const span = this.#tracer.startSpan(method, { kind: SpanKind.CLIENT }, this.#context);
    if (span.isRecording()) {
      span.setAttributes({
        [ATTR_HTTP_REQUEST_METHOD]: method,
        [ATTR_SERVER_ADDRESS]: target.hostname,
        [ATTR_SERVER_PORT]: target.port,
        [ATTR_URL_FULL]: target.origin + pathOnly(path),
      });
      if (resendCount > 0) span.setAttribute(ATTR_HTTP_REQUEST_RESEND_COUNT, resendCount);
    }
    this.#propagator.inject(trace.setSpan(this.#context, span), headers, headerListSetter);
    return span;
  }
}

/** Ends a try's client span: its status, or the gateway's error code when it failed. */
export function endTry(span: Span, status: number, errorCode: string): void {
  if (span.isRecording()) {
    if (status > 0) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    if (errorCode !== "") {
      span.setAttribute(ATTR_ERROR_TYPE, errorCode);
      span.setStatus({ code: SpanStatusCode.ERROR });
    } else if (status >= 400) {
      span.setAttribute(ATTR_ERROR_TYPE, String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
  }
  span.end();
}

/** The gateway's tracer: an exchange observer that opens and closes the server spans. */
export class Tracing implements ExchangeObserver {
  readonly #provider: TracerProvider;
  readonly #tracer: Tracer;
  readonly #propagator: TextMapPropagator;
  readonly #host: TracingHost;

  constructor(config: TracingConfig, host: TracingHost) {
    this.#host = host;
    const exporter =
      host.exporter ??
      new OTLPTraceExporter({
        url: config.endpoint,
        headers: config.headers,
        timeoutMillis: config.exportTimeout,
      });
    this.#provider = new TracerProvider({
      sampler: samplerOf(config),
      resource: resourceFromAttributes({
        ...config.resourceAttributes,
        [ATTR_SERVICE_NAME]: config.serviceName,
        [ATTR_SERVICE_VERSION]: gatehouseVersion,
      }),
      spanProcessors: [
        new BatchSpanProcessor({
          exporter,
          maxQueueSize: config.maxQueueSize,
          maxExportBatchSize: Math.min(config.maxBatchSize, config.maxQueueSize),
          scheduledDelayMillis: config.exportDelay,
          exportTimeoutMillis: config.exportTimeout,
        }),
      ],
    });
    this.#tracer = this.#provider.getTracer("gatehouse", gatehouseVersion);
    this.#propagator = propagatorOf(config.propagation);
  }

  started(res: GatewayResponse): void {
    const req = res.req;
    const parent = this.#propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    const method = req.method ?? "";
    const span = this.#tracer.startSpan(method, { kind: SpanKind.SERVER }, parent);
    if (span.isRecording()) {
      const [hostName, port] = splitAuthority(req.headers.host ?? "");
      const url = req.url ?? "";
      const queryAt = url.indexOf("?");
      span.setAttributes({
        [ATTR_HTTP_REQUEST_METHOD]: method,
        [ATTR_URL_PATH]: queryAt === -1 ? url : url.slice(0, queryAt),
        [ATTR_URL_SCHEME]: "http",
        [ATTR_SERVER_ADDRESS]: hostName,
        [ATTR_CLIENT_ADDRESS]: this.#host.clientAddress(req),
        // The semantic conventions write HTTP/2 as "2" (Node's httpVersion says "2.0").
        [ATTR_NETWORK_PROTOCOL_VERSION]: req.httpVersionMajor === 2 ? "2" : req.httpVersion,
        [ATTR_REQUEST_ID]: res.requestId,
      });
      if (port !== undefined) span.setAttribute(ATTR_SERVER_PORT, port);
      const agent = req.headers["user-agent"];
      if (agent !== undefined) span.setAttribute(ATTR_USER_AGENT_ORIGINAL, agent);
    }
    res.trace = new RequestTrace(span, this.#tracer, this.#propagator);
  }

  finished(res: GatewayResponse): void {
    const span = res.trace?.span;
    if (!span) return;
    if (span.isRecording()) {
      if (res.routePath !== "") {
        span.updateName(`${res.req.method} ${res.routePath}`);
        span.setAttribute(ATTR_HTTP_ROUTE, res.routePath);
      }
      if (res.route !== "") span.setAttribute(ATTR_ROUTE, res.route);
      if (res.service !== "") span.setAttribute(ATTR_SERVICE, res.service);
      if (res.consumer !== "") span.setAttribute(ATTR_CONSUMER, res.consumer);
      if (res.headersSent) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, res.statusCode);
      if (res.errorCode !== "") span.setAttribute(ATTR_ERROR_CODE, res.errorCode);
      // Server spans are errors for 5xx only: a 4xx is the client's mistake, answered right.
      const status = res.headersSent ? res.statusCode : 0;
      if (status >= 500) {
        span.setAttribute(ATTR_ERROR_TYPE, res.errorCode || String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      } else if (status === 0) {
        span.setAttribute(ATTR_ERROR_TYPE, "client_closed");
      }
    }
    span.end();
  }

  /**
   * Exports what is still queued and stops. A collector that is down loses those spans;
   * it never fails the gateway's stop.
   */
  async close(): Promise<void> {
    await this.#provider.shutdown().catch(() => undefined);
  }

  /** Exports what is queued now (tests, and before a planned stop). */
  async flush(): Promise<void> {
    await this.#provider.forceFlush();
  }
}

function samplerOf(config: TracingConfig): Sampler {
  const root = new TraceIdRatioBasedSampler(config.sampleRatio);
  return config.parentBased ? new ParentBasedSampler({ root }) : root;
}

function propagatorOf(formats: TracingConfig["propagation"]): TextMapPropagator {
  // Extraction runs in order and the last format found wins: W3C, when sent, is preferred.
  const ordered = [...formats].sort(
    (a, b) => Number(a === "tracecontext") - Number(b === "tracecontext"),
  );
  const propagators = ordered.map((format) =>
    format === "tracecontext"
      ? new W3CTraceContextPropagator()
      : new B3Propagator({
          injectEncoding:
            format === "b3" ? B3InjectEncoding.SINGLE_HEADER : B3InjectEncoding.MULTI_HEADER,
        }),
  );
  return propagators.length === 1 ? propagators[0]! : new CompositePropagator({ propagators });
}

/** `host:port` → [host, port]; the port is undefined when not given. */
function splitAuthority(authority: string): [string, number | undefined] {
  const bracket = authority.lastIndexOf("]");
  const colon = authority.lastIndexOf(":");
  if (colon === -1 || colon < bracket) return [authority, undefined];
  const port = Number(authority.slice(colon + 1));
  return [authority.slice(0, colon), Number.isInteger(port) ? port : undefined];
}

/** The path of an upstream request without its query (queries may carry credentials). */
function pathOnly(path: string): string {
  const at = path.indexOf("?");
  return at === -1 ? path : path.slice(0, at);
}
