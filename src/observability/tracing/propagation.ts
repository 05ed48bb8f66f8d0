/**
 * @module observability/tracing/propagation
 * Reading the caller's trace context and writing each try's, through OpenTelemetry's
 * propagators (W3C trace context, B3 single or multi header), so the header formats are
 * exactly those of every other OpenTelemetry-instrumented service. Two shortcuts, because
 * both run on every request: a request with none of the formats' headers is not handed to
 * the propagators (they would find nothing), and W3C alone is written directly, the
 * propagator's exact `traceparent` and `tracestate`, without the context objects it reads
 * them from.
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
  /** The request headers the formats read (lowercase, as Node names them). */
  readonly #fields: string[];
  readonly #w3cOnly: boolean;

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
    // B3 extraction reads both of its encodings whichever one is written.
    const b3Fields = formats.some((format) => format !== "tracecontext")
      ? [B3InjectEncoding.SINGLE_HEADER, B3InjectEncoding.MULTI_HEADER].flatMap((injectEncoding) =>
          new B3Propagator({ injectEncoding }).fields(),
        )
      : [];
    this.#fields = [...new Set([...this.#propagator.fields(), ...b3Fields])].map((name) =>
      name.toLowerCase(),
    );
    this.#w3cOnly = formats.every((format) => format === "tracecontext");
  }

  /** The caller's span context, when the request carries a valid one. */
  extract(headers: IncomingHttpHeaders): SpanContext | undefined {
    if (!this.#carries(headers)) return undefined;
    const context = this.#propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
    const parent = trace.getSpanContext(context);
    return parent && isSpanContextValid(parent) ? parent : undefined;
  }

  /** Whether any header a format reads is there. */
  #carries(headers: IncomingHttpHeaders): boolean {
    for (const name of this.#fields) if (headers[name] !== undefined) return true;
    return false;
  }

  /** Writes a try's context into its upstream headers, replacing the caller's. */
  inject(
    headers: string[],
    traceId: string,
    spanId: string,
    sampled: boolean,
    traceState: TraceState | undefined,
  ): void {
    if (this.#w3cOnly) {
      // What W3CTraceContextPropagator writes for a valid context (version 00, flags in hex).
      setHeader(headers, "traceparent", `00-${traceId}-${spanId}-0${sampled ? 1 : 0}`, 2);
      if (traceState !== undefined) setHeader(headers, "tracestate", traceState.serialize(), 2);
      return;
    }
    const context = trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId,
      traceFlags: sampled ? 1 : 0,
      traceState,
    });
    this.#propagator.inject(context, headers, headerListSetter);
  }
}
