/**
 * @module sdk/events/event-context
 * Trace context and request id across an event, both ways: a publish carries the caller's
 * `traceparent` and `x-request-id` (call-context.ts) in the message headers, and a handler
 * runs in a consumer span, child of the publisher's trace, inside a call context holding the
 * event's request id, so what it calls (services, more events) continues the same trace.
 */
import {
  type Context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { newRequestId } from "../../server/request-id.ts";
import { currentCallContext, withCallContext } from "../call-context.ts";
import { propagator, sdkTracer } from "../telemetry.ts";

/** The headers that carry the call context (lower case, as they are written). */
export const requestIdHeader = "x-request-id";

/**
 * The headers an event is published with: `given` first, then the current call context's
 * `traceparent`/`tracestate` and `x-request-id` where `given` has none.
 */
export function contextHeaders(given: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(given)) headers[name.toLowerCase()] = String(value);
  const context = currentCallContext();
  if (headers.traceparent === undefined && context?.trace)
    propagator.inject(context.trace, headers, defaultTextMapSetter);
  if (headers[requestIdHeader] === undefined && context?.requestId)
    headers[requestIdHeader] = context.requestId;
  return headers;
}

/** A handler's run, traced as a consumer span of the event's trace. */
export interface HandlingSpan {
  /** Runs `fn` inside the event's call context (request id, trace, no deadline). */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Ends the span; an error marks it failed. */
  end(error?: unknown): void;
}

/** Starts the consumer span of an event with these headers, for durable `durable`. */
export function handlingSpan(
  subject: string,
  id: string,
  durable: string,
  headers: Record<string, string>,
): HandlingSpan {
  const parent = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
  const span: Span = sdkTracer().startSpan(
    `process ${subject}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        "messaging.system": "nats",
        "messaging.operation.type": "process",
        "messaging.destination.name": subject,
        "messaging.consumer.group.name": durable,
        "messaging.message.id": id,
      },
    },
    parent,
  );
  const traceContext: Context = trace.setSpan(parent, span);
  const requestId = headers[requestIdHeader] || newRequestId();
  return {
    run: (fn) => withCallContext({ requestId, trace: traceContext }, fn),
    end(error) {
      if (error !== undefined) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    },
  };
}
