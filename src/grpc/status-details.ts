/**
 * @module grpc/status-details
 * Decodes the `grpc-status-details-bin` trailer (a base64 `google.rpc.Status`) into its
 * details as JSON, so an HTTP client sees e.g. a `google.rpc.BadRequest`'s field
 * violations rather than opaque bytes. `Any` details are printed with the registry the
 * protos were loaded into (which always holds google/rpc/error_details.proto); a detail
 * of a type it does not know is kept as `{"@type", "value": base64}`.
 */
import {
  fromBinary,
  type JsonValue,
  type Message,
  type Registry,
  toJson,
} from "@bufbuild/protobuf";
import { base64Decode, base64Encode } from "@bufbuild/protobuf/wire";
import { type Any, AnySchema } from "@bufbuild/protobuf/wkt";

/** What `grpc-status-details-bin` said. */
export interface StatusDetails {
  code: number;
  message: string;
  details: JsonValue[];
}

/**
 * Decodes a `grpc-status-details-bin` value; undefined when it is absent or not a
 * `google.rpc.Status` (a broken trailer must not hide the status itself).
 */
export function decodeStatusDetails(
  header: string | undefined,
  registry: Registry,
): StatusDetails | undefined {
  const schema = registry.getMessage("google.rpc.Status");
  if (header === undefined || header === "" || schema === undefined) return undefined;
  let status: Message & { code: number; message: string; details: Any[] };
  try {
    status = fromBinary(schema, base64Decode(header)) as typeof status;
  } catch {
    return undefined;
  }
  return {
    code: status.code,
    message: status.message,
    details: status.details.map((detail) => detailJson(detail, registry)),
  };
}

function detailJson(detail: Any, registry: Registry): JsonValue {
  try {
    return toJson(AnySchema, detail, { registry });
  } catch {
    return { "@type": detail.typeUrl, value: base64Encode(detail.value) };
  }
}
