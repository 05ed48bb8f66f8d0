/**
 * @module sdk/telemetry
 * The SDK's tracer and trace propagation. With `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set when the process starts, the SDK exports its spans itself over OTLP/HTTP
 * in batches, as the gateway does (observability/tracing), under `OTEL_SERVICE_NAME` or the
 * registered service's name. Otherwise its spans go to whatever tracer provider the
 * application registered with `@opentelemetry/api` (none: they cost nothing). Trace context
 * travels in W3C `traceparent` either way.
 */
import { type Tracer, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import type { TracerProvider } from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { gatehouseVersion } from "../version.ts";

const tracerName = "gatehouse-sdk";

/** Reads and writes `traceparent` / `tracestate`. */
export const propagator = new W3CTraceContextPropagator();

let provider: TracerProvider | undefined;
let tracer: Tracer | undefined;
let defaultServiceName: string | undefined;
let flushing: Promise<void> = Promise.resolve();

/** The service name spans are exported under when `OTEL_SERVICE_NAME` does not say (the first registered). */
export function setDefaultServiceName(name: string): void {
  defaultServiceName ??= name;
}

/** Whether the environment asks the SDK to export spans over OTLP itself. */
function exportsItself(): boolean {
  const env = process.env;
  if (env.OTEL_SDK_DISABLED === "true") return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * The exporting pieces, loaded only when the environment asks for export (as the process
 * starts): a service that does not export does not pay for loading them.
 */
const exporting = exportsItself()
  ? await Promise.all([
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/resources"),
      import("@opentelemetry/sdk-trace"),
    ])
  : undefined;

/** The tracer for the SDK's client and server spans, made on first use. */
export function sdkTracer(): Tracer {
  if (tracer) return tracer;
  if (exporting) {
    const [
      { OTLPTraceExporter },
      { resourceFromAttributes },
      { BatchSpanProcessor, TracerProvider },
    ] = exporting;
    provider = new TracerProvider({
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]:
          process.env.OTEL_SERVICE_NAME || defaultServiceName || "unknown_service:node",
      }),
      // The exporter takes its endpoint, headers and timeout from the OTEL_EXPORTER_OTLP_* variables.
      spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter() })],
    });
    tracer = provider.getTracer(tracerName, gatehouseVersion);
  } else {
    // A proxy: it follows a provider the application registers, even later than this.
    tracer = trace.getTracer(tracerName, gatehouseVersion);
  }
  return tracer;
}

/**
 * Exports the spans the SDK has queued (when it exports over OTLP itself); call it before a
 * planned exit. Closing a registration does it. A collector that is down loses them; this
 * never throws.
 */
export function flushTelemetry(): Promise<void> {
  if (!provider) return Promise.resolve();
  const current = provider;
  // One after another: a flush asked for while another one's export is still on the wire
  // would find the queue empty and resolve before those spans arrived.
  flushing = flushing.then(() => current.forceFlush().catch(() => undefined));
  return flushing;
}
