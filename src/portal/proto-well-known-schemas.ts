/**
 * @module portal/proto-well-known-schemas
 * The JSON Schemas of the `google.protobuf` well-known types, which proto3 JSON prints in
 * forms of their own (a Timestamp is an RFC 3339 string, an Int32Value a nullable number…)
 * rather than as the objects their fields would make.
 */
import type { OpenApiSchema } from "./openapi-fragment.ts";

/** A well-known type's schema; undefined for any other message. */
export function wellKnownSchema(
  typeName: string,
  int64AsNumber: boolean,
): OpenApiSchema | undefined {
  const int64 = (pattern: string): OpenApiSchema =>
    int64AsNumber
      ? { type: ["integer", "null"], format: "int64" }
      : { type: ["string", "null"], pattern };
  switch (typeName) {
    case "google.protobuf.Timestamp":
      return { type: "string", format: "date-time", description: "An RFC 3339 date-time in UTC." };
    case "google.protobuf.Duration":
      return {
        type: "string",
        pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$",
        description: "Seconds with an `s` suffix, e.g. `1.5s`.",
      };
    case "google.protobuf.FieldMask":
      return {
        type: "string",
        description: "Field paths in JSON names, separated by commas, e.g. `title,pageCount`.",
      };
    case "google.protobuf.Empty":
      return { type: "object", additionalProperties: false };
    case "google.protobuf.Struct":
      return { type: "object", additionalProperties: true };
    case "google.protobuf.Value":
      return { description: "Any JSON value." };
    case "google.protobuf.ListValue":
      return { type: "array", items: {} };
    case "google.protobuf.Any":
      return {
        type: "object",
        properties: { "@type": { type: "string", description: "The packed message's type URL." } },
        required: ["@type"],
        additionalProperties: true,
      };
    case "google.protobuf.StringValue":
      return { type: ["string", "null"] };
    case "google.protobuf.BytesValue":
      return { type: ["string", "null"], format: "byte", contentEncoding: "base64" };
    case "google.protobuf.BoolValue":
      return { type: ["boolean", "null"] };
    case "google.protobuf.Int32Value":
      return { type: ["integer", "null"], format: "int32" };
    case "google.protobuf.UInt32Value":
      return { type: ["integer", "null"], format: "int64", minimum: 0, maximum: 4294967295 };
    case "google.protobuf.Int64Value":
      return int64("^-?[0-9]+$");
    case "google.protobuf.UInt64Value":
      return int64("^[0-9]+$");
    case "google.protobuf.FloatValue":
    case "google.protobuf.DoubleValue":
      return {
        anyOf: [
          { type: ["number", "null"], format: typeName.includes("Float") ? "float" : "double" },
          { type: "string", enum: ["NaN", "Infinity", "-Infinity"] },
        ],
      };
    default:
      return undefined;
  }
}
