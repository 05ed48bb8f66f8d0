/**
 * @module observability/tracing/otlp-json
 * The OTLP/JSON encoding (ExportTraceServiceRequest) of the gateway's spans, written
 * straight into an export batch's bytes when the span ends: a batch is those spans joined
 * inside an envelope whose resource and scope were encoded at start. OTLP/JSON is proto3
 * JSON with two rules of its own: trace and span ids are lowercase hex (not base64) and
 * enums are numbers. 64-bit integers (times, `intValue`) are decimal strings, as proto3
 * JSON writes them.
 */
import { type JsonWriter, jsonPiece } from "./json-writer.ts";

/** OTLP span kinds used by the gateway. */
export const SERVER = 2;
export const CLIENT = 3;

/** An attribute's key, encoded once with the start of each kind of value it may take. */
export interface AttributeKey {
  /** `{"key":"…","value":{"stringValue":` */
  string: Buffer;
  /** `{"key":"…","value":{"intValue":"` */
  int: Buffer;
}

export function attributeKey(key: string): AttributeKey {
  const start = `{"key":${JSON.stringify(key)},"value":{`;
  return {
    string: Buffer.from(`${start}"stringValue":`, "utf8"),
    int: Buffer.from(`${start}"intValue":"`, "utf8"),
  };
}

const comma = 0x2c;
const openList = 0x5b;
const closeString = jsonPiece("}}");
const closeInt = jsonPiece('"}}');

/** A string attribute; its value given in two parts is written as the two joined. */
export function stringAttribute(
  out: JsonWriter,
  key: AttributeKey,
  value: string,
  more = "",
): void {
  if (out.last !== openList) out.byte(comma);
  out.piece(key.string);
  out.string(value, more);
  out.piece(closeString);
}

export function intAttribute(out: JsonWriter, key: AttributeKey, value: number): void {
  if (out.last !== openList) out.byte(comma);
  out.piece(key.int);
  out.integer(value);
  out.piece(closeInt);
}

/** The last whole second written and its digits: spans ending together share it. */
let second = -1;
let secondDigits = "";

/** Unix time in nanoseconds, as a decimal string, from milliseconds with a fraction. */
export function writeUnixNanos(out: JsonWriter, ms: number): void {
  let whole = Math.floor(ms);
  let nanos = Math.round((ms - whole) * 1e6);
  if (nanos === 1e6) {
    whole += 1;
    nanos = 0;
  }
  const seconds = Math.floor(whole / 1000);
  if (seconds !== second) {
    second = seconds;
    secondDigits = String(seconds);
  }
  out.byte(0x22);
  if (seconds === 0) {
    out.integer(whole); // within the first second (no zero-padding at the front)
  } else {
    out.ascii(secondDigits);
    out.threeDigits(whole - seconds * 1000);
  }
  // Then microseconds and nanoseconds, three digits each.
  const micros = Math.floor(nanos / 1000);
  out.threeDigits(micros);
  out.threeDigits(nanos - micros * 1000);
  out.byte(0x22);
}

/** What a span says before its attributes. */
export interface SpanHead {
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
}

const traceIdField = jsonPiece('{"traceId":"');
const spanIdField = jsonPiece('","spanId":"');
const parentSpanIdField = jsonPiece('","parentSpanId":"');
const traceStateField = jsonPiece('","traceState":');
/** `Span.flags`: the W3C sampled flag; only sampled spans are exported. */
const flagsAndName = jsonPiece(',"flags":1,"name":');
const kindField = jsonPiece(',"kind":');
const startField = jsonPiece(',"startTimeUnixNano":');
const endField = jsonPiece(',"endTimeUnixNano":');
const attributesField = jsonPiece(',"attributes":[');
const endOk = jsonPiece("]}");
const endError = jsonPiece('],"status":{"code":2}}');

/** Writes a span up to its attribute list, which `stringAttribute`/`intAttribute` fill. */
export function writeSpanStart(out: JsonWriter, span: SpanHead): void {
  out.piece(traceIdField);
  out.ascii(span.traceId);
  out.piece(spanIdField);
  out.ascii(span.spanId);
  if (span.parentSpanId !== "") {
    out.piece(parentSpanIdField);
    out.ascii(span.parentSpanId);
  }
  if (span.traceState !== "") {
    out.piece(traceStateField);
    out.string(span.traceState);
  } else {
    out.byte(0x22);
  }
  out.piece(flagsAndName);
  out.string(span.name);
  out.piece(kindField);
  out.integer(span.kind);
  out.piece(startField);
  writeUnixNanos(out, span.startMs);
  out.piece(endField);
  writeUnixNanos(out, span.endMs);
  out.piece(attributesField);
}

/**
 * Ends the attribute list and the span. Status ERROR when `error`; otherwise the status is
 * left unset, as the conventions ask for HTTP.
 */
export function writeSpanEnd(out: JsonWriter, error: boolean): void {
  out.piece(error ? endError : endOk);
}

/**
 * The parts of an export request around its spans: `head + spans joined by "," + tail`.
 * The resource and the instrumentation scope are the same for every batch.
 */
export function exportEnvelope(
  resource: Record<string, string>,
  scope: { name: string; version: string },
): { head: string; tail: string } {
  const attributes = Object.entries(resource)
    .map(
      ([key, value]) =>
        `{"key":${JSON.stringify(key)},"value":{"stringValue":${JSON.stringify(value)}}}`,
    )
    .join(",");
  const head = `{"resourceSpans":[{"resource":{"attributes":[${attributes}]},"scopeSpans":[{"scope":{"name":${JSON.stringify(scope.name)},"version":${JSON.stringify(scope.version)}},"spans":[`;
  return { head, tail: "]}]}]}" };
}
