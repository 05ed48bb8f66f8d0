/**
 * @module grpc/query-fields
 * Resolves a query parameter's name (`page_size`, `pageSize`, `filter.author`) to the
 * request fields it sets, by proto name or JSON name at each step. Only fields a query
 * value can stand for are accepted: scalars, enums, their repeated forms, and the
 * well-known types whose JSON form is one string or number. Fields the path or the body
 * already set are refused, so a client cannot bind one field two ways.
 */
import type { DescField, DescMessage } from "@bufbuild/protobuf";

/** The fields a query parameter sets, from the top message down. */
export interface QueryField {
  fields: DescField[];
  /** Every occurrence of the parameter is kept (`ids=1&ids=2`); else the last one wins. */
  repeated: boolean;
}

/** The answer for a parameter that names a field it may not set, with the reason. */
export interface QueryFieldProblem {
  problem: string;
}

/** Well-known messages whose JSON form is a single value a query parameter can carry. */
const scalarLikeMessages = new Set([
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.FieldMask",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.FloatValue",
  "google.protobuf.DoubleValue",
  "google.protobuf.BoolValue",
]);

/** Whether a message's JSON form is one string or number, so a path or query value can carry it. */
export function isScalarLikeMessage(message: DescMessage): boolean {
  return scalarLikeMessages.has(message.typeName);
}

/** Bounds the per-binding memo of resolved names, which clients choose. */
const memoLimit = 256;

const namesByMessage = new WeakMap<DescMessage, Map<string, DescField>>();

/** Query parameter names → request fields for one binding. */
export class QueryFields {
  readonly #schema: DescMessage;
  readonly #taken: Set<string>;
  readonly #memo = new Map<string, QueryField | QueryFieldProblem | undefined>();

  /** `taken`: dotted proto-name paths of the fields the path and the body set. */
  constructor(schema: DescMessage, taken: Set<string>) {
    this.#schema = schema;
    this.#taken = taken;
  }

  /** The fields `key` sets; a problem when it may not set them; undefined when it names none. */
  resolve(key: string): QueryField | QueryFieldProblem | undefined {
    if (this.#memo.has(key)) return this.#memo.get(key);
    const resolved = this.#resolve(key);
    if (this.#memo.size < memoLimit) this.#memo.set(key, resolved);
    return resolved;
  }

  #resolve(key: string): QueryField | QueryFieldProblem | undefined {
    const fields: DescField[] = [];
    let message: DescMessage | undefined = this.#schema;
    for (const name of key.split(".")) {
      if (message === undefined) {
        return { problem: `"${fields.at(-1)!.name}" has no fields to set` };
      }
      const field = fieldsByName(message).get(name);
      if (field === undefined) return undefined;
      fields.push(field);
      message =
        field.fieldKind === "message" && !isScalarLikeMessage(field.message)
          ? field.message
          : undefined;
    }
    const path = fields.map((field) => field.name).join(".");
    for (const taken of this.#taken) {
      if (path === taken || path.startsWith(`${taken}.`) || taken.startsWith(`${path}.`)) {
        return { problem: `"${path}" is already set by the path or the body` };
      }
    }
    const leaf = fields.at(-1)!;
    switch (leaf.fieldKind) {
      case "scalar":
      case "enum":
        return { fields, repeated: false };
      case "list":
        if (leaf.listKind !== "message") return { fields, repeated: true };
        return { problem: `"${path}" is a list of messages, which a query cannot set` };
      case "map":
        return { problem: `"${path}" is a map, which a query cannot set` };
      case "message":
        if (isScalarLikeMessage(leaf.message)) return { fields, repeated: false };
        return { problem: `"${path}" is a message; set its fields, as in ${key}.FIELD=VALUE` };
    }
  }
}

/** A message's fields by proto name and by JSON name. */
function fieldsByName(message: DescMessage): Map<string, DescField> {
  let names = namesByMessage.get(message);
  if (names === undefined) {
    names = new Map();
    for (const field of message.fields) {
      names.set(field.name, field);
      names.set(field.jsonName, field);
    }
    namesByMessage.set(message, names);
  }
  return names;
}
