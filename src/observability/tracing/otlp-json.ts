/**
 * @module observability/tracing/otlp-json
 * The OTLP/JSON encoding (ExportTraceServiceRequest) of the gateway's spans, written as
 * strings directly: a span is encoded once when it ends, a batch is those strings joined
 * inside an envelope whose resource and scope were encoded at start. OTLP/JSON is proto3
 * JSON with two rules of its own: trace and span ids are lowercase hex (not base64) and
 * enums are numbers. 64-bit integers (times, `intValue`) are decimal strings, as proto3
 * JSON writes them.
 */

/** OTLP span kinds used by the gateway. */
export const SERVER = 2;
export const CLIENT = 3;

/** `Span.flags`: the W3C sampled flag; only sampled spans are exported. */
const sampledFlags = 1;

/** The start of an attribute with this key, to be completed by a value writer below. */
export function attributeKey(key: string): string {
  return `{"key":${JSON.stringify(key)},"value":{`;
}

/** Printable ASCII without `"` or `\\`: written between quotes as it is. */
const plainText = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A JSON string literal; most values (paths, ids, methods) need no escaping. */
export function quote(text: string): string {
  return plainText.test(text) ? `"${text}"` : JSON.stringify(text);
}

export function stringAttribute(key: string, value: string): string {
  return `${key}"stringValue":${quote(value)}}}`;
}

export function intAttribute(key: string, value: number): string {
  return `${key}"intValue":"${value}"}}`;
}

/** Unix time in nanoseconds, as a decimal string, from milliseconds with a fraction. */
export function unixNanos(ms: number): string {
  let whole = Math.floor(ms);
  let nanos = Math.round((ms - whole) * 1e6);
  if (nanos === 1e6) {
    whole += 1;
    nanos = 0;
  }
  return `${whole}${String(nanos).padStart(6, "0")}`;
}

/** What one finished span says, its attributes already encoded and comma-joined. */
export interface EncodableSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  /** The W3C `tracestate` it carries, "" when none. */
  traceState: string;
  name: string;
  kind: number;
  startMs: number;
  endMs: number;
  attributes: string;
  /** Status ERROR; otherwise the status is left unset, as the conventions ask for HTTP. */
  error: boolean;
}

export function encodeSpan(span: EncodableSpan): string {
  const parent = span.parentSpanId === "" ? "" : `"parentSpanId":"${span.parentSpanId}",`;
  const state = span.traceState === "" ? "" : `"traceState":${JSON.stringify(span.traceState)},`;
  const status = span.error ? ',"status":{"code":2}' : "";
  return `{"traceId":"${span.traceId}","spanId":"${span.spanId}",${parent}${state}"flags":${sampledFlags},"name":${quote(span.name)},"kind":${span.kind},"startTimeUnixNano":"${unixNanos(span.startMs)}","endTimeUnixNano":"${unixNanos(span.endMs)}","attributes":[${span.attributes}]${status}}`;
}

/**
 * The parts of an export request around its spans: `head + spans.join(",") + tail`.
 * The resource and the instrumentation scope are the same for every batch.
 */
export function exportEnvelope(
  resource: Record<string, string>,
  scope: { name: string; version: string },
): { head: string; tail: string } {
  const attributes = Object.entries(resource)
    .map(([key, value]) => stringAttribute(attributeKey(key), value))
    .join(",");
  const head = `{"resourceSpans":[{"resource":{"attributes":[${attributes}]},"scopeSpans":[{"scope":{"name":${JSON.stringify(scope.name)},"version":${JSON.stringify(scope.version)}},"spans":[`;
  return { head, tail: "]}]}]}" };
}
