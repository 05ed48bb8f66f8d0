/**
 * @module observability/tracing/otel-request-trace
 * A call's trace made of OpenTelemetry API spans, for the service SDK: there the spans
 * belong to the application's own tracer (whatever SDK and exporter it set up), so they
 * go through the API rather than the gateway's recorder. Same span shapes as the
 * gateway's client spans.
 */
import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  type TextMapSetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_RESEND_COUNT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from "@opentelemetry/semantic-conventions";
import { setHeader } from "../../proxy/headers.ts";
import type { Target } from "../../upstream/target.ts";

/** Writes propagation headers into an upstream header list (after its `host` pair). */
const headerListSetter: TextMapSetter<string[]> = {
  set(headers, name, value) {
    setHeader(headers, name, value, 2);
  },
};

/** One call's parent span, and the client span of each try under it. */
export class OtelRequestTrace {
  readonly span: Span;
  readonly #tracer: Tracer;
  readonly #propagator: TextMapPropagator;
  readonly #context: Context;

  constructor(span: Span, tracer: Tracer, propagator: TextMapPropagator) {
    this.span = span;
    this.#tracer = tracer;
    this.#propagator = propagator;
    this.#context = trace.setSpan(ROOT_CONTEXT, span);
  }

  /** Starts the client span of one try and writes its context into `headers`. */
  startTry(
    target: Target,
    method: string,
    path: string,
    headers: string[],
    resendCount: number,
  ): Span {
    const span = this.#tracer.startSpan(method, { kind: SpanKind.CLIENT }, this.#context);
    if (span.isRecording()) {
      const queryAt = path.indexOf("?");
      span.setAttributes({
        [ATTR_HTTP_REQUEST_METHOD]: method,
        [ATTR_SERVER_ADDRESS]: target.hostname,
        [ATTR_SERVER_PORT]: target.port,
        // No query: queries may carry credentials.
        [ATTR_URL_FULL]: target.origin + (queryAt === -1 ? path : path.slice(0, queryAt)),
      });
      if (resendCount > 0) span.setAttribute(ATTR_HTTP_REQUEST_RESEND_COUNT, resendCount);
    }
    this.#propagator.inject(trace.setSpan(this.#context, span), headers, headerListSetter);
    return span;
  }
}

/** Ends a try's client span: its status, or the error code when it failed. */
export function endOtelTry(span: Span, status: number, errorCode: string): void {
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
