/**
 * @module test/helpers/otlp-proto
 * Checks OTLP/JSON export requests against the OTLP protocol's own message definitions
 * (test/fixtures/otlp, loaded with protobufjs): every key a field of its message in
 * lowerCamelCase, every value of its field's type (ids as hex of the right length, enums
 * as numbers, 64-bit integers as decimal strings or integers, at most one member of a
 * oneof), and the request re-encoded to the binary protobuf encoding and decoded back, as
 * a collector does.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import protobuf from "protobufjs";

const fixtures = join(import.meta.dirname, "..", "fixtures", "otlp");
const root = new protobuf.Root();
for (const file of ["common", "resource", "trace", "trace_service"]) {
  protobuf.parse(readFileSync(join(fixtures, `${file}.proto`), "utf8"), root);
}
root.resolveAll();

export const exportTraceServiceRequest = root.lookupType(
  "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
);

/** OTLP/JSON writes these byte fields as hex (of this many bytes), not base64. */
const hexIds: Record<string, Record<string, number[]>> = {
  Span: { traceId: [16], spanId: [8], parentSpanId: [0, 8] },
  Link: { traceId: [16], spanId: [8] },
};
const int64Types = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);
const int32Types = new Set(["int32", "uint32", "sint32", "fixed32", "sfixed32"]);

/** What in `value` does not conform to `type`; [] when it all does. */
export function otlpJsonProblems(
  value: unknown,
  type: protobuf.Type = exportTraceServiceRequest,
  path = type.name,
): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return [`${path}: expected an object (message ${type.name})`];
  }
  const problems: string[] = [];
  const oneofsSet = new Map<string, number>();
  for (const [name, fieldValue] of Object.entries(value)) {
    const field = type.fields[name];
    if (field === undefined) {
      problems.push(`${path}.${name}: no such field in ${type.name}`);
      continue;
    }
    if (field.partOf) oneofsSet.set(field.partOf.name, (oneofsSet.get(field.partOf.name) ?? 0) + 1);
    if (field.repeated) {
      if (!Array.isArray(fieldValue)) problems.push(`${path}.${name}: expected an array`);
      else {
        fieldValue.forEach((item, i) => {
          problems.push(...fieldProblems(type, field, item, `${path}.${name}[${i}]`));
        });
      }
    } else problems.push(...fieldProblems(type, field, fieldValue, `${path}.${name}`));
  }
  for (const [oneof, count] of oneofsSet) {
    if (count > 1) problems.push(`${path}: ${count} members of oneof ${oneof} set`);
  }
  return problems;
}

function fieldProblems(
  parent: protobuf.Type,
  field: protobuf.Field,
  value: unknown,
  path: string,
): string[] {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return otlpJsonProblems(value, resolved, path);
  if (resolved instanceof protobuf.Enum) {
    return Number.isInteger(value) && Object.values(resolved.values).includes(value as number)
      ? []
      : [`${path}: expected a number of enum ${resolved.name}, got ${JSON.stringify(value)}`];
  }
  const ok = (test: boolean, expected: string) =>
    test ? [] : [`${path}: expected ${expected}, got ${JSON.stringify(value)}`];
  if (field.type === "string") return ok(typeof value === "string", "a string");
  if (field.type === "bool") return ok(typeof value === "boolean", "a boolean");
  if (field.type === "double" || field.type === "float") {
    return ok(
      typeof value === "number" || value === "NaN" || /Infinity$/.test(String(value)),
      "a number",
    );
  }
  if (int64Types.has(field.type)) {
    const unsigned = field.type.startsWith("u") || field.type === "fixed64";
    const text = typeof value === "number" && Number.isSafeInteger(value) ? String(value) : value;
    return ok(
      typeof text === "string" && (unsigned ? /^\d+$/ : /^-?\d+$/).test(text),
      "a 64-bit integer (decimal string)",
    );
  }
  if (int32Types.has(field.type)) {
    const unsigned = field.type.startsWith("u") || field.type === "fixed32";
    return ok(
      Number.isInteger(value) &&
        (!unsigned || (value as number) >= 0) &&
        Math.abs(value as number) < 2 ** 32,
      "a 32-bit integer",
    );
  }
  if (field.type === "bytes") {
    const lengths = hexIds[parent.name]?.[field.name];
    if (lengths) {
      return ok(
        typeof value === "string" &&
          /^[0-9a-f]*$/.test(value) &&
          lengths.includes(value.length / 2),
        `lowercase hex of ${lengths.join(" or ")} bytes`,
      );
    }
    return ok(typeof value === "string" && /^[A-Za-z0-9+/_-]*=*$/.test(value), "base64");
  }
  return [`${path}: field type ${field.type} not checked`];
}

/** A span as a collector decodes it from the binary encoding, ids back to hex. */
export interface DecodedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  traceState: string;
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, string | number | boolean>;
  statusCode: number;
  resource: Record<string, string | number | boolean>;
  scope: { name: string; version: string };
}

/** Encodes an OTLP/JSON request with the protobuf definitions and decodes it back. */
export function decodeThroughProtobuf(body: unknown): DecodedSpan[] {
  const withBytes = JSON.parse(JSON.stringify(body), (key, value) =>
    (key === "traceId" || key === "spanId" || key === "parentSpanId") && typeof value === "string"
      ? Buffer.from(value, "hex")
      : value,
  );
  const problem = exportTraceServiceRequest.verify(exportTraceServiceRequest.fromObject(withBytes));
  if (problem) throw new Error(`not an ExportTraceServiceRequest: ${problem}`);
  const wire = exportTraceServiceRequest
    .encode(exportTraceServiceRequest.fromObject(withBytes))
    .finish();
  const decoded = exportTraceServiceRequest.toObject(exportTraceServiceRequest.decode(wire), {
    longs: String,
    bytes: String,
    defaults: true,
    oneofs: true,
  }) as DecodedRequest;
  const spans: DecodedSpan[] = [];
  for (const resourceSpans of decoded.resourceSpans) {
    const resource = attributesOf(resourceSpans.resource?.attributes ?? []);
    for (const scopeSpans of resourceSpans.scopeSpans) {
      for (const span of scopeSpans.spans) {
        spans.push({
          traceId: hexOf(span.traceId),
          spanId: hexOf(span.spanId),
          parentSpanId: hexOf(span.parentSpanId),
          traceState: span.traceState,
          flags: span.flags,
          name: span.name,
          kind: span.kind,
          startTimeUnixNano: BigInt(span.startTimeUnixNano),
          endTimeUnixNano: BigInt(span.endTimeUnixNano),
          attributes: attributesOf(span.attributes),
          statusCode: span.status?.code ?? 0,
          resource,
          scope: { name: scopeSpans.scope?.name ?? "", version: scopeSpans.scope?.version ?? "" },
        });
      }
    }
  }
  return spans;
}

interface DecodedValue {
  value?: "stringValue" | "intValue" | "boolValue" | "doubleValue";
  stringValue?: string;
  intValue?: string;
  boolValue?: boolean;
  doubleValue?: number;
}
interface DecodedAttribute {
  key: string;
  value: DecodedValue;
}
interface DecodedRequest {
  resourceSpans: {
    resource?: { attributes: DecodedAttribute[] };
    scopeSpans: {
      scope?: { name: string; version: string };
      spans: {
        traceId: string;
        spanId: string;
        parentSpanId: string;
        traceState: string;
        flags: number;
        name: string;
        kind: number;
        startTimeUnixNano: string;
        endTimeUnixNano: string;
        attributes: DecodedAttribute[];
        status?: { code: number };
      }[];
    }[];
  }[];
}

/** Decoded attributes as plain values; an int64 becomes a number (the gateway's are small). */
function attributesOf(list: DecodedAttribute[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list) {
    const which = value.value;
    if (which === "intValue") out[key] = Number(value.intValue);
    else if (which !== undefined) out[key] = value[which] as string | number | boolean;
  }
  return out;
}

/** protobufjs writes bytes as base64 with `bytes: String`. */
function hexOf(base64: string): string {
  return Buffer.from(base64, "base64").toString("hex");
}
