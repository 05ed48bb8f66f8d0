/**
 * @module observability/tracing/propagation
 * Reading the caller's trace context and writing each try's, through OpenTelemetry's
 * propagators (W3C trace context, B3 single or multi header), so the header formats are
 * exactly those of every other OpenTelemetry-instrumented service.
 */
import type { IncomingHttpHeaders } from "node:http";
import {
  defaultTextMapGetter,
  isSpanContextValid,
  ROOT_CONTEXT,
  type SpanContext,
  type TextMapPropagator,
  type TextMapSetter,
  type TraceState,
  trace,
} from "@opentelemetry/api";
import { CompositePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { B3InjectEncoding, B3Propagator } from "@opentelemetry/propagator-b3";
import type { tracePropagators } from "../../config/schema/observability.ts";
import { setHeader } from "../../proxy/headers.ts";

/** Writes propagation headers into an upstream header list (after its `host` pair). */
const headerListSetter: TextMapSetter<string[]> = {
  set(headers, name, value) {
    setHeader(headers, name, value, 2);
  },
};

export class TracePropagation {
  readonly #propagator: TextMapPropagator;

  constructor(formats: readonly (typeof tracePropagators)[number][]) {
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
    this.#propagator =
      propagators.length === 1 ? propagators[0]! : new CompositePropagator({ propagators });
  }

  /** The caller's span context, when the request carries a valid one. */
  extract(headers: IncomingHttpHeaders): SpanContext | undefined {
    const context = this.#propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
    const parent = trace.getSpanContext(context);
    return parent && isSpanContextValid(parent) ? parent : undefined;
  }

  /** Writes a try's context into its upstream headers, replacing the caller's. */
  inject(
    headers: string[],
    traceId: string,
    spanId: string,
    sampled: boolean,
    traceState: TraceState | undefined,
  ): void {
    const context = trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId,
      traceFlags: sampled ? 1 : 0,
      traceState,
    });
    this.#propagator.inject(context, headers, headerListSetter);
  }
}
