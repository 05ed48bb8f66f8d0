/**
 * @module grpc/response-mapping
 * Turns a gRPC response message (binary, unframed) into the JSON text the HTTP client
 * gets: canonical proto3 JSON by @bufbuild/protobuf, `json_name` honoured unless proto
 * field names are asked for, and only the `response_body` field when the rule names one.
 */
import {
  type DescField,
  type DescMessage,
  fromBinary,
  type JsonValue,
  type Registry,
  toJson,
} from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import { compileInt64Numbers } from "./int64-numbers.ts";

/** The print options, named as in the `grpc-transcode` plugin's config. */
export interface ResponseMappingOptions {
  /** Print 64-bit integers as JSON numbers (precision is lost past 2^53) instead of strings. */
  int64AsNumber?: boolean;
  /** Print fields that hold their default value (0, "", false, [], {}) instead of leaving them out. */
  emitDefaults?: boolean;
  /** Print the `.proto` field names (`page_size`) instead of the JSON names (`pageSize`). */
  useProtoFieldNames?: boolean;
  /** Resolves the type URLs of `Any` fields (the registry the protos were loaded into). */
  registry?: Registry;
}

export type ResponseMappingResult = { ok: true; json: string } | { ok: false; error: string };

/** Maps one response message's bytes to JSON text. */
export type ResponseMapper = (bytes: Uint8Array) => ResponseMappingResult;

/** Compiles the response mapping for a method's output, sending `responseBody` alone if set. */
export function compileResponseMapper(
  schema: DescMessage,
  responseBody: DescField | undefined,
  options: ResponseMappingOptions = {},
): ResponseMapper {
  const writeOptions = {
    alwaysEmitImplicit: options.emitDefaults === true,
    useProtoFieldName: options.useProtoFieldNames === true,
    registry: options.registry,
  };
  const int64Numbers = options.int64AsNumber
    ? compileInt64Numbers(schema, writeOptions.useProtoFieldName)
    : undefined;
  const print = (json: JsonValue) => JSON.stringify(int64Numbers ? int64Numbers(json) : json);

  if (responseBody === undefined) {
    return (bytes) => attempt(() => print(toJson(schema, fromBinary(schema, bytes), writeOptions)));
  }
  if (responseBody.fieldKind === "message") {
    const child = responseBody.message;
    const childInt64Numbers = options.int64AsNumber
      ? compileInt64Numbers(child, writeOptions.useProtoFieldName)
      : undefined;
    return (bytes) =>
      attempt(() => {
        const field = reflect(schema, fromBinary(schema, bytes)).get(responseBody);
        const json = toJson(child, field.message, writeOptions);
        return JSON.stringify(childInt64Numbers ? childInt64Numbers(json) : json);
      });
  }
  // A list, map or scalar is printed as part of a message holding only it, so its JSON
  // form (and the int64 rewrite) is exactly what it would be in the whole response.
  const key = writeOptions.useProtoFieldName ? responseBody.name : responseBody.jsonName;
  return (bytes) =>
    attempt(() => {
      const onlyField = reflect(schema);
      onlyField.set(responseBody, reflect(schema, fromBinary(schema, bytes)).get(responseBody));
      let json = toJson(schema, onlyField.message, writeOptions) as Record<string, JsonValue>;
      // Left out as a default value: print the default, never nothing.
      if (!(key in json))
        json = toJson(schema, onlyField.message, {
          ...writeOptions,
          alwaysEmitImplicit: true,
        }) as Record<string, JsonValue>;
      return print(json[key]);
    });
}

function attempt(print: () => string): ResponseMappingResult {
  try {
    return { ok: true, json: print() };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}
