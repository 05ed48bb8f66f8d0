/**
 * @module observability/tracing
 * Tracing: a server span per request and a client span per upstream try, exported over
 * OTLP/HTTP in batches. The caller's trace context is read from the configured formats
 * (W3C trace context, B3) and each try's own context is written into the upstream
 * headers, so the upstream's spans hang under the try that reached it.
 *
 * Propagation goes through OpenTelemetry's API and propagators; the spans themselves are
 * recorded by the gateway (as Envoy and Kong do): the shapes are known in advance, so a
 * span is a few fields on the request's record, encoded to OTLP/JSON once when it ends,
 * instead of the SDK's span objects, attribute maps, processor and exporter transform.
 * Nothing is registered globally, so the gateway's tracing cannot be confused with what
 * an embedding application set up. When tracing is off none of this is built and the
 * request path only tests one field for undefined.
 */
import type { IncomingMessage } from "node:http";
import type { TraceState } from "@opentelemetry/api";
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
import type { ExchangeObserver, GatewayResponse } from "../server/exchange.ts";
import type { Target } from "../upstream/target.ts";
import { gatehouseVersion } from "../version.ts";
import { type SpanDropReason, SpanExportQueue } from "./tracing/export-queue.ts";
import { newSpanId, newTraceId } from "./tracing/ids.ts";
import type { JsonWriter } from "./tracing/json-writer.ts";
import { OtlpHttpSender } from "./tracing/otlp-http.ts";
import {
  attributeKey,
  CLIENT,
  exportEnvelope,
  intAttribute,
  SERVER,
  stringAttribute,
  writeSpanEnd,
  writeSpanStart,
} from "./tracing/otlp-json.ts";
import { TracePropagation } from "./tracing/propagation.ts";
import { type RatioSampler, ratioSampler } from "./tracing/sampler.ts";

type TracingConfig = GatehouseConfig["gateway"]["tracing"];

/** What tracing needs from the gateway. */
export interface TracingHost {
  /** The client address as the gateway judges it (trusted proxies applied). */
  clientAddress(req: IncomingMessage): string;
  /** Spans that will never be exported, and why (for the metrics). */
  spansDropped?(reason: SpanDropReason, spans: number): void;
  /** An export ended: the collector took it (`success`) or it failed for good (`failed`). */
  exportEnded?(outcome: "success" | "failed"): void;
}

/** The encoded keys of the attributes the gateway's spans carry. */
const key = {
  clientAddress: attributeKey(ATTR_CLIENT_ADDRESS),
  errorType: attributeKey(ATTR_ERROR_TYPE),
  method: attributeKey(ATTR_HTTP_REQUEST_METHOD),
  resendCount: attributeKey(ATTR_HTTP_REQUEST_RESEND_COUNT),
  status: attributeKey(ATTR_HTTP_RESPONSE_STATUS_CODE),
  httpRoute: attributeKey(ATTR_HTTP_ROUTE),
  protocolVersion: attributeKey(ATTR_NETWORK_PROTOCOL_VERSION),
  serverAddress: attributeKey(ATTR_SERVER_ADDRESS),
  serverPort: attributeKey(ATTR_SERVER_PORT),
  urlFull: attributeKey(ATTR_URL_FULL),
  urlPath: attributeKey(ATTR_URL_PATH),
  urlScheme: attributeKey(ATTR_URL_SCHEME),
  userAgent: attributeKey(ATTR_USER_AGENT_ORIGINAL),
  route: attributeKey("gatehouse.route"),
  service: attributeKey("gatehouse.service"),
  requestId: attributeKey("gatehouse.request_id"),
  errorCode: attributeKey("gatehouse.error_code"),
  consumer: attributeKey("gatehouse.consumer"),
};

/** One upstream try's client span, open while the try is under way. */
export class TrySpan {
  readonly trace: RequestTrace;
  readonly spanId: string;
  readonly startedAt: number;
  readonly target: Target;
  readonly method: string;
  readonly path: string;
  readonly resendCount: number;

  constructor(
    trace: RequestTrace,
    spanId: string,
    target: Target,
    method: string,
    path: string,
    resendCount: number,
  ) {
    this.trace = trace;
    this.spanId = spanId;
    this.startedAt = performance.now();
    this.target = target;
    this.method = method;
    this.path = path;
    this.resendCount = resendCount;
  }
}

/** One request's trace: its ids, the sampling decision, and the server span's start. */
export class RequestTrace {
  /** Hex trace id, for the access log (also when this trace is not sampled). */
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly sampled: boolean;
  readonly traceState: TraceState | undefined;
  /** `performance.now()` at the start; wall time is `anchor + performance.now()`. */
  readonly startedAt: number;
  readonly anchor: number;
  /** The request target as received (before any rewrite), for `url.path`. */
  readonly url: string;
  readonly tracing: Tracing;

  constructor(
    tracing: Tracing,
    traceId: string,
    parentSpanId: string,
    sampled: boolean,
    traceState: TraceState | undefined,
    url: string,
  ) {
    this.tracing = tracing;
    this.traceId = traceId;
    this.spanId = newSpanId();
    this.parentSpanId = parentSpanId;
    this.sampled = sampled;
    this.traceState = traceState;
    this.startedAt = performance.now();
    // Times are anchored to the wall clock once per trace, so a trace's spans nest exactly.
    this.anchor = Date.now() - this.startedAt;
    this.url = url;
  }

  /**
   * Starts the client span of one upstream try and writes its context into `headers`,
   * replacing whatever trace headers the client sent. Returns the span to end when the
   * try ends; undefined when the trace is not sampled (nothing to record).
   */
  startTry(
    target: Target,
    method: string,
    path: string,
    headers: string[],
    resendCount: number,
  ): TrySpan | undefined {
    const spanId = newSpanId();
    this.tracing.propagation.inject(headers, this.traceId, spanId, this.sampled, this.traceState);
    if (!this.sampled) return undefined;
    return new TrySpan(this, spanId, target, method, path, resendCount);
  }
}

/** Ends a try's client span: its status, or the gateway's error code when it failed. */
export function endTry(span: TrySpan, status: number, errorCode: string): void {
  const { trace, target } = span;
  const out = trace.tracing.beginSpan();
  if (out === undefined) return;
  writeSpanStart(out, {
    traceId: trace.traceId,
    spanId: span.spanId,
    parentSpanId: trace.spanId,
    traceState: trace.traceState?.serialize() ?? "",
    name: span.method,
    kind: CLIENT,
    startMs: trace.anchor + span.startedAt,
    endMs: trace.anchor + performance.now(),
  });
  stringAttribute(out, key.method, span.method);
  stringAttribute(out, key.serverAddress, target.hostname);
  intAttribute(out, key.serverPort, target.port);
  // No query: queries may carry credentials.
  const queryAt = span.path.indexOf("?");
  stringAttribute(
    out,
    key.urlFull,
    target.origin,
    queryAt === -1 ? span.path : span.path.slice(0, queryAt),
  );
  if (span.resendCount > 0) intAttribute(out, key.resendCount, span.resendCount);
  if (status > 0) intAttribute(out, key.status, status);
  let error = false;
  if (errorCode !== "") {
    stringAttribute(out, key.errorType, errorCode);
    error = true;
  } else if (status >= 400) {
    stringAttribute(out, key.errorType, String(status));
    error = true;
  }
  writeSpanEnd(out, error);
  trace.tracing.endSpan();
}

/** The gateway's tracer: an exchange observer that opens and closes the server spans. */
export class Tracing implements ExchangeObserver {
  readonly propagation: TracePropagation;
  readonly #host: TracingHost;
  readonly #sampleRatio: RatioSampler;
  readonly #parentBased: boolean;
  readonly #sender: OtlpHttpSender;
  readonly #queue: SpanExportQueue;

  constructor(config: TracingConfig, host: TracingHost) {
    this.#host = host;
    this.propagation = new TracePropagation(config.propagation);
    this.#sampleRatio = ratioSampler(config.sampleRatio);
    this.#parentBased = config.parentBased;
    this.#sender = new OtlpHttpSender(config.endpoint, config.headers, config.exportTimeout);
    const { head, tail } = exportEnvelope(
      {
        ...config.resourceAttributes,
        [ATTR_SERVICE_NAME]: config.serviceName,
        [ATTR_SERVICE_VERSION]: gatehouseVersion,
      },
      { name: "gatehouse", version: gatehouseVersion },
    );
    this.#queue = new SpanExportQueue(
      {
        maxQueueSize: config.maxQueueSize,
        maxBatchSize: config.maxBatchSize,
        exportDelay: config.exportDelay,
        head,
        tail,
        dropped: host.spansDropped?.bind(host),
      },
      async (body) => {
        const exported = await this.#sender.send(body);
        host.exportEnded?.(exported ? "success" : "failed");
        return exported;
      },
    );
  }

  started(res: GatewayResponse): void {
    const req = res.req;
    const parent = this.propagation.extract(req.headers);
    let trace: RequestTrace;
    if (parent === undefined) {
      const traceId = newTraceId();
      trace = new RequestTrace(this, traceId, "", this.#sampleRatio(traceId), undefined, req.url!);
    } else {
      const sampled = this.#parentBased
        ? (parent.traceFlags & 1) === 1
        : this.#sampleRatio(parent.traceId);
      trace = new RequestTrace(
        this,
        parent.traceId,
        parent.spanId,
        sampled,
        parent.traceState,
        req.url!,
      );
    }
    res.trace = trace;
  }

  finished(res: GatewayResponse): void {
    const trace = res.trace;
    if (!trace?.sampled) return;
    const out = this.#queue.begin();
    if (out === undefined) return;
    const req = res.req;
    const method = req.method ?? "";
    // Server spans are errors for 5xx only: a 4xx is the client's mistake, answered right.
    const status = res.headersSent ? res.statusCode : 0;
    writeSpanStart(out, {
      traceId: trace.traceId,
      spanId: trace.spanId,
      parentSpanId: trace.parentSpanId,
      traceState: trace.traceState?.serialize() ?? "",
      name: res.routePath === "" ? method : `${method} ${res.routePath}`,
      kind: SERVER,
      startMs: trace.anchor + trace.startedAt,
      endMs: trace.anchor + performance.now(),
    });
    this.#serverAttributes(out, res, trace.url, status);
    writeSpanEnd(out, status >= 500);
    this.#queue.end();
  }

  #serverAttributes(out: JsonWriter, res: GatewayResponse, url: string, status: number): void {
    const req = res.req;
    const queryAt = url.indexOf("?");
    stringAttribute(out, key.method, req.method ?? "");
    stringAttribute(out, key.urlPath, queryAt === -1 ? url : url.slice(0, queryAt));
    stringAttribute(out, key.urlScheme, "http");
    const authority = req.headers.host ?? "";
    const portAt = portSeparator(authority);
    stringAttribute(out, key.serverAddress, portAt === -1 ? authority : authority.slice(0, portAt));
    stringAttribute(out, key.clientAddress, this.#host.clientAddress(req));
    // The semantic conventions write HTTP/2 as "2" (Node's httpVersion says "2.0").
    stringAttribute(out, key.protocolVersion, req.httpVersionMajor === 2 ? "2" : req.httpVersion);
    stringAttribute(out, key.requestId, res.requestId);
    if (portAt !== -1) {
      const port = Number(authority.slice(portAt + 1));
      if (Number.isInteger(port)) intAttribute(out, key.serverPort, port);
    }
    const agent = req.headers["user-agent"];
    if (agent !== undefined) stringAttribute(out, key.userAgent, agent);
    if (res.routePath !== "") stringAttribute(out, key.httpRoute, res.routePath);
    if (res.route !== "") stringAttribute(out, key.route, res.route);
    if (res.service !== "") stringAttribute(out, key.service, res.service);
    if (res.consumer !== "") stringAttribute(out, key.consumer, res.consumer);
    if (res.headersSent) intAttribute(out, key.status, res.statusCode);
    if (res.errorCode !== "") stringAttribute(out, key.errorCode, res.errorCode);
    if (status >= 500) {
      stringAttribute(out, key.errorType, res.errorCode || String(status));
    } else if (status === 0) {
      stringAttribute(out, key.errorType, "client_closed");
    }
  }

  /** Where the next finished span is written; undefined when it is dropped. */
  beginSpan(): JsonWriter | undefined {
    return this.#queue.begin();
  }

  /** The span `beginSpan` gave room for is written. */
  endSpan(): void {
    this.#queue.end();
  }

  /**
   * Exports what is still queued and stops, all within `exportTimeout`. A collector that
   * is down loses those spans; it never fails the gateway's stop.
   */
  async close(): Promise<void> {
    this.#sender.stopping();
    await this.#queue.close();
    await this.#sender.close().catch(() => undefined);
  }

  /** Exports what is queued now (tests, and before a planned stop). */
  async flush(): Promise<void> {
    await this.#queue.flush();
  }
}

/** Where the port of a `host:port` authority starts (its colon), -1 when it has none. */
function portSeparator(authority: string): number {
  const colon = authority.lastIndexOf(":");
  return colon === -1 || colon < authority.lastIndexOf("]") ? -1 : colon;
}
