/**
 * @module grpc/int64-numbers
 * The `int64AsNumber` print option. Canonical proto3 JSON prints 64-bit integers as
 * strings (a JavaScript number loses precision past 2^53); some clients want numbers
 * anyway. This rewrites the JSON @bufbuild/protobuf printed, guided by the schema, and
 * is compiled per message so messages without 64-bit fields cost nothing.
 */
import { type DescField, type DescMessage, type JsonValue, ScalarType } from "@bufbuild/protobuf";

type Rewrite = (json: JsonValue) => JsonValue;

const int64Scalars = new Set([
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
  ScalarType.SINT64,
]);
const int64Wrappers = new Set(["google.protobuf.Int64Value", "google.protobuf.UInt64Value"]);

/** Rewrites a message's printed JSON with 64-bit integers as numbers; undefined if it has none. */
export function compileInt64Numbers(
  schema: DescMessage,
  useProtoFieldName: boolean,
): Rewrite | undefined {
  return new Compiler(useProtoFieldName).message(schema);
}

class Compiler {
  readonly #useProtoFieldName: boolean;
  /** Per message: its rewrite, or null while it is being compiled (recursive types). */
  readonly #done = new Map<DescMessage, Rewrite | undefined | null>();

  constructor(useProtoFieldName: boolean) {
    this.#useProtoFieldName = useProtoFieldName;
  }

  message(desc: DescMessage): Rewrite | undefined {
    if (int64Wrappers.has(desc.typeName)) return toNumber;
    // Other well-known types print no 64-bit strings of their own (Any's content is left as is).
    if (desc.typeName.startsWith("google.protobuf.")) return undefined;
    const known = this.#done.get(desc);
    if (known === null) return (json) => this.#done.get(desc)?.(json) ?? json;
    if (this.#done.has(desc)) return known;
    this.#done.set(desc, null);
    const rewrites: [string, Rewrite][] = [];
    for (const field of desc.fields) {
      const rewrite = this.#field(field);
      if (rewrite) rewrites.push([this.#useProtoFieldName ? field.name : field.jsonName, rewrite]);
    }
    const compiled: Rewrite | undefined =
      rewrites.length === 0
        ? undefined
        : (json) => {
            if (json === null || typeof json !== "object" || Array.isArray(json)) return json;
            for (const [key, rewrite] of rewrites) {
              if (key in json) json[key] = rewrite(json[key]);
            }
            return json;
          };
    this.#done.set(desc, compiled);
    return compiled;
  }

  #field(field: DescField): Rewrite | undefined {
    switch (field.fieldKind) {
      case "scalar":
        return int64Scalars.has(field.scalar) ? toNumber : undefined;
      case "message":
        return this.message(field.message);
      case "list": {
        const item =
          field.listKind === "scalar"
            ? int64Scalars.has(field.scalar)
              ? toNumber
              : undefined
            : field.listKind === "message"
              ? this.message(field.message)
              : undefined;
        return item && ((json) => (Array.isArray(json) ? json.map(item) : json));
      }
      case "map": {
        const value =
          field.mapKind === "scalar"
            ? int64Scalars.has(field.scalar)
              ? toNumber
              : undefined
            : field.mapKind === "message"
              ? this.message(field.message)
              : undefined;
        return (
          value &&
          ((json) => {
            if (json === null || typeof json !== "object" || Array.isArray(json)) return json;
            for (const key of Object.keys(json)) json[key] = value(json[key]);
            return json;
          })
        );
      }
      default:
        return undefined;
    }
  }
}

function toNumber(json: JsonValue): JsonValue {
  return typeof json === "string" ? Number(json) : json;
}
