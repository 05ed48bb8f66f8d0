/**
 * @module portal/proto-json-schema
 * JSON Schemas (OpenAPI 3.1) of protobuf messages in the canonical proto3 JSON form the
 * transcoder reads and prints: JSON names (or `.proto` names when the plugin prints those),
 * 64-bit integers as strings (or numbers when it prints those), enums by name, bytes as
 * base64, maps as objects, repeated fields as arrays, the well-known types in their own JSON
 * forms. Messages and enums become components referred to by `$ref`, so recursive messages
 * are described without unrolling.
 */
import {
  type DescEnum,
  type DescField,
  type DescMessage,
  type DescOneof,
  ScalarType,
} from "@bufbuild/protobuf";
import type { OpenApiSchema } from "./openapi-fragment.ts";
import { wellKnownSchema } from "./proto-well-known-schemas.ts";

/** The print options that change a message's JSON form (the `grpc-transcode` plugin's names). */
export interface ProtoJsonOptions {
  int64AsNumber?: boolean;
  useProtoFieldNames?: boolean;
  /** Leading comments by full name (`pkg.Message`, `pkg.Message.field`), used as descriptions. */
  comments?: ReadonlyMap<string, string>;
}

const int64Scalars = new Set([
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
  ScalarType.SINT64,
]);
const unsignedScalars = new Set([ScalarType.UINT32, ScalarType.FIXED32, ScalarType.UINT64]);

/** Collects the component schemas of the messages and enums it is asked about. */
export class ProtoJsonSchemas {
  /** Component name → schema, filled as messages and enums are referred to. */
  readonly schemas: Record<string, OpenApiSchema> = {};
  readonly #options: ProtoJsonOptions;

  constructor(options: ProtoJsonOptions = {}) {
    this.#options = options;
  }

  /** The JSON key a field is printed under. */
  fieldName(field: DescField): string {
    return this.#options.useProtoFieldNames ? field.name : field.jsonName;
  }

  /** The schema of a message: a `$ref` to its component, or a well-known type's own form. */
  message(desc: DescMessage): OpenApiSchema {
    const known = wellKnownSchema(desc.typeName, this.#options.int64AsNumber === true);
    if (known !== undefined) return known;
    const name = desc.typeName;
    if (!(name in this.schemas)) {
      this.schemas[name] = {}; // taken before the fields: a recursive field finds the ref
      this.schemas[name] = this.messageObject(desc);
    }
    return { $ref: `#/components/schemas/${name}` };
  }

  /** A message as an inline object schema, without the fields in `omit` (path variables). */
  messageObject(desc: DescMessage, omit: ReadonlySet<DescField> = new Set()): OpenApiSchema {
    const properties: Record<string, OpenApiSchema> = {};
    for (const field of desc.fields) {
      if (!omit.has(field)) properties[this.fieldName(field)] = this.field(field);
    }
    const oneofs = desc.oneofs
      .map((oneof) => oneof.fields.filter((field) => !omit.has(field)))
      .filter((fields) => fields.length > 1);
    return {
      type: "object",
      ...this.#described(desc.typeName),
      properties,
      ...(oneofs.length > 0 && { not: { anyOf: oneofs.flatMap((f) => this.#pairs(f)) } }),
    };
  }

  /** The schema of a field's value, as it appears in the JSON object of its message. */
  field(field: DescField): OpenApiSchema {
    const own = { ...this.#described(`${field.parent.typeName}.${field.name}`) };
    if (field.oneof) own.description = joined(own.description, this.#oneofNote(field.oneof));
    switch (field.fieldKind) {
      case "scalar":
        return { ...this.scalar(field.scalar), ...own };
      case "enum":
        return { ...this.enum(field.enum), ...own };
      case "message":
        return merge(this.message(field.message), own);
      case "list":
        return {
          type: "array",
          items:
            field.listKind === "scalar"
              ? this.scalar(field.scalar)
              : field.listKind === "enum"
                ? this.enum(field.enum)
                : this.message(field.message),
          ...own,
        };
      case "map":
        return {
          type: "object",
          propertyNames: mapKeySchema(field.mapKey),
          additionalProperties:
            field.mapKind === "scalar"
              ? this.scalar(field.scalar)
              : field.mapKind === "enum"
                ? this.enum(field.enum)
                : this.message(field.message),
          ...own,
        };
    }
  }

  /** An enum by the names of its values; `google.protobuf.NullValue` is JSON null. */
  enum(desc: DescEnum): OpenApiSchema {
    if (desc.typeName === "google.protobuf.NullValue") return { type: "null" };
    const name = desc.typeName;
    this.schemas[name] ??= {
      type: "string",
      ...this.#described(name),
      enum: desc.values.map((value) => value.name),
    };
    return { $ref: `#/components/schemas/${name}` };
  }

  /** A scalar's JSON form. */
  scalar(type: ScalarType): OpenApiSchema {
    if (int64Scalars.has(type)) {
      const minimum = unsignedScalars.has(type) ? { minimum: 0 } : {};
      return this.#options.int64AsNumber
        ? { type: "integer", format: "int64", ...minimum }
        : unsignedScalars.has(type)
          ? { type: "string", pattern: "^[0-9]+$" }
          : { type: "string", format: "int64", pattern: "^-?[0-9]+$" };
    }
    switch (type) {
      case ScalarType.DOUBLE:
      case ScalarType.FLOAT:
        return floatSchema(type === ScalarType.FLOAT ? "float" : "double");
      case ScalarType.BOOL:
        return { type: "boolean" };
      case ScalarType.STRING:
        return { type: "string" };
      case ScalarType.BYTES:
        return { type: "string", format: "byte", contentEncoding: "base64" };
      case ScalarType.UINT32:
      case ScalarType.FIXED32:
        return { type: "integer", format: "int64", minimum: 0, maximum: 4294967295 };
      default:
        return { type: "integer", format: "int32" };
    }
  }

  #described(fullName: string): { description?: string } {
    const comment = this.#options.comments?.get(fullName);
    return comment ? { description: comment } : {};
  }

  #oneofNote(oneof: DescOneof): string {
    const names = oneof.fields.map((field) => `\`${this.fieldName(field)}\``).join(", ");
    return `One of ${names} (oneof \`${oneof.name}\`): set at most one.`;
  }

  /** Every pair of fields of a oneof, as `required` lists: none may be present together. */
  #pairs(fields: DescField[]): OpenApiSchema[] {
    const names = fields.map((field) => this.fieldName(field));
    return names.flatMap((a, i) => names.slice(i + 1).map((b) => ({ required: [a, b] })));
  }
}

/** A float prints as a number, or as one of the strings JSON has no number for. */
export function floatSchema(format: "float" | "double"): OpenApiSchema {
  return {
    anyOf: [
      { type: "number", format },
      { type: "string", enum: ["NaN", "Infinity", "-Infinity"] },
    ],
  };
}

/** Map keys are JSON object keys: strings, holding the key's text. */
function mapKeySchema(key: ScalarType): OpenApiSchema {
  if (key === ScalarType.STRING) return { type: "string" };
  if (key === ScalarType.BOOL) return { enum: ["true", "false"] };
  return { pattern: unsignedScalars.has(key) ? "^[0-9]+$" : "^-?[0-9]+$" };
}

/** A `$ref` with a description: 3.1 lets `$ref` have siblings, so both are kept. */
function merge(schema: OpenApiSchema, own: OpenApiSchema): OpenApiSchema {
  if (own.description === undefined) return schema;
  if (schema.description === undefined || "$ref" in schema) return { ...schema, ...own };
  return { ...schema, description: joined(schema.description as string, own.description) };
}

function joined(first: unknown, second: unknown): string {
  return [first, second].filter((text) => typeof text === "string" && text !== "").join("\n\n");
}
