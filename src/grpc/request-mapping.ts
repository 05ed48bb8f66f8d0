/**
 * @module grpc/request-mapping
 * Builds a binding's gRPC request message from an HTTP request: the JSON body (all of
 * it, or one field), then query parameters, then path variables, each parsed as
 * canonical proto3 JSON by @bufbuild/protobuf (int64 as string or number, enums by
 * name or number, bytes as base64, well-known types in their JSON forms). Later sources
 * win over earlier ones for the same field. A request the mapping cannot take is a
 * {@link RequestMappingError} value whose message tells the client what to fix.
 */
import {
  create,
  type DescField,
  type DescMessage,
  fromJsonString,
  type JsonObject,
  type JsonValue,
  type Message,
  mergeFromJson,
  type Registry,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import type { HttpBinding } from "./http-rule.ts";
import { type QueryField, QueryFields } from "./query-fields.ts";

/** How strict the mapping is; the defaults refuse what they do not know. */
export interface RequestMappingOptions {
  /** Accept (and drop) JSON body fields the request message does not have. */
  ignoreUnknownFields?: boolean;
  /** Accept (and drop) query parameters that name no request field. */
  ignoreUnknownQueryParameters?: boolean;
  /** Resolves `Any` type URLs in the body (the registry the protos were loaded into). */
  registry?: Registry;
}

/** The request as the mapping reads it. */
export interface HttpRequestParts {
  /** Path variables, in the order of the binding's template variables. */
  variables: string[];
  /** The raw query string, without "?". */
  query: string;
  /** The body as received; empty or undefined means no body. */
  body: Uint8Array | string | undefined;
}

/** Why a request could not be mapped; `message` is meant for the client. */
export interface RequestMappingError {
  message: string;
}

export type RequestMappingResult =
  | { ok: true; message: Message; bytes: Uint8Array }
  | { ok: false; error: RequestMappingError };

/** Maps requests for one binding; everything that depends only on the binding is done here. */
export type RequestMapper = (request: HttpRequestParts) => RequestMappingResult;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Compiles the request mapping of one binding. */
export function compileRequestMapper(
  binding: HttpBinding,
  options: RequestMappingOptions = {},
): RequestMapper {
  const schema = binding.method.input;
  const readOptions = {
    ignoreUnknownFields: options.ignoreUnknownFields === true,
    registry: options.registry,
  };
  const pathSetters = binding.variables.map((variable) => ({
    what: `path variable "${variable.name}"`,
    json: (value: string) => nestJson(variable.fields, textToJson(variable.fields.at(-1)!, value)),
  }));
  // Fields the path or the body sets cannot also come from the query.
  const taken = new Set(binding.variables.map((variable) => variable.name));
  if (binding.body instanceof Object) taken.add(binding.body.name);
  const queryFields = binding.body === "*" ? undefined : new QueryFields(schema, taken);
  const readBody = compileBodyReader(schema, binding.body, readOptions);

  return (request) => {
    let message: Message;
    try {
      message = readBody(request.body);
    } catch (error) {
      return failure(`body: ${reason(error)}`);
    }
    if (request.query !== "") {
      const params = groupQuery(request.query);
      for (const [key, values] of params) {
        const field = queryFields?.resolve(key);
        if (field === undefined || "problem" in field) {
          if (options.ignoreUnknownQueryParameters && field?.problem === undefined) continue;
          return failure(`query parameter "${key}": ${field?.problem ?? "no such field"}`);
        }
        const error = merge(schema, message, queryJson(field, values), readOptions);
        if (error !== undefined) return failure(`query parameter "${key}": ${error}`);
      }
    }
    for (const [i, setter] of pathSetters.entries()) {
      const error = merge(schema, message, setter.json(request.variables[i]), readOptions);
      if (error !== undefined) return failure(`${setter.what}: ${error}`);
    }
    return { ok: true, message, bytes: toBinary(schema, message) };
  };
}

type BodyReader = (body: Uint8Array | string | undefined) => Message;

function compileBodyReader(
  schema: DescMessage,
  body: HttpBinding["body"],
  readOptions: { ignoreUnknownFields: boolean; registry?: Registry },
): BodyReader {
  if (body === undefined) return () => create(schema);
  const text = (raw: Uint8Array | string | undefined) =>
    raw === undefined ? "" : typeof raw === "string" ? raw : utf8.decode(raw);
  if (body === "*") {
    return (raw) => {
      const json = text(raw);
      return json.trim() === "" ? create(schema) : fromJsonString(schema, json, readOptions);
    };
  }
  const field = body;
  return (raw) => {
    const message = create(schema);
    const json = text(raw);
    if (json.trim() === "") return message;
    if (field.fieldKind === "message") {
      const value = fromJsonString(field.message, json, readOptions);
      reflect(schema, message).set(field, reflect(field.message, value));
    } else {
      mergeFromJson(schema, message, { [field.jsonName]: JSON.parse(json) }, readOptions);
    }
    return message;
  };
}

/** Query parameters grouped by name, in first-seen order (`ids=1&ids=2` → ["1", "2"]). */
function groupQuery(query: string): Map<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(query)) {
    const values = grouped.get(key);
    if (values === undefined) grouped.set(key, [value]);
    else values.push(value);
  }
  return grouped;
}

function queryJson(field: QueryField, values: string[]): JsonObject {
  const leaf = field.fields.at(-1)!;
  const json = field.repeated
    ? values.map((value) => textToJson(leaf, value))
    : textToJson(leaf, values[values.length - 1]);
  return nestJson(field.fields, json);
}

/** `{ a: { b: value } }` for the fields a, b, keyed by their JSON names. */
function nestJson(fields: DescField[], value: JsonValue): JsonObject {
  let json: JsonValue = value;
  for (let i = fields.length - 1; i >= 0; i--) json = { [fields[i].jsonName]: json };
  return json as JsonObject;
}

/**
 * The JSON value a path or query text stands for. Text is already the JSON form of
 * strings, bytes, numbers (proto3 JSON accepts them quoted) and string-like well-known
 * types; booleans and enum numbers need converting.
 */
function textToJson(field: DescField, text: string): JsonValue {
  const kind = field.fieldKind === "list" ? field.listKind : field.fieldKind;
  if (kind === "enum") return /^-?\d+$/.test(text) ? Number(text) : text;
  if (kind === "scalar" && field.scalar === ScalarType.BOOL) return boolText(text);
  if (kind === "message" && field.message?.typeName === "google.protobuf.BoolValue") {
    return boolText(text);
  }
  return text;
}

function boolText(text: string): JsonValue {
  return text === "true" ? true : text === "false" ? false : text;
}

/** Merges `json` into the message; the reason it could not, or undefined. */
function merge(
  schema: DescMessage,
  message: Message,
  json: JsonObject,
  readOptions: { ignoreUnknownFields: boolean; registry?: Registry },
): string | undefined {
  try {
    mergeFromJson(schema, message, json, readOptions);
    return undefined;
  } catch (error) {
    return reason(error);
  }
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function failure(message: string): RequestMappingResult {
  return { ok: false, error: { message } };
}
