/**
 * @module portal/proto-json-example
 * A sample value of a message in proto3 JSON, for the portal's request bodies: a renderer's
 * own guess from a schema cannot know that a Duration is `"1s"` or that an enum's zero value
 * is the unset one, so a "try it" sent with this sample is a request the transcoder takes.
 * Nested messages are filled once along a path, so recursive messages end.
 */
import { type DescEnum, type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";

const int64Scalars = new Set([
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
  ScalarType.SINT64,
]);

/** Well-known types whose sample is one fixed value. */
const wellKnownSamples: Record<string, unknown> = {
  "google.protobuf.Timestamp": "2024-01-01T00:00:00Z",
  "google.protobuf.Duration": "1s",
  "google.protobuf.FieldMask": "",
  "google.protobuf.Empty": {},
  "google.protobuf.Struct": {},
  "google.protobuf.ListValue": [],
  "google.protobuf.StringValue": "string",
  "google.protobuf.BoolValue": true,
  "google.protobuf.Int32Value": 0,
  "google.protobuf.UInt32Value": 0,
  "google.protobuf.FloatValue": 0,
  "google.protobuf.DoubleValue": 0,
  "google.protobuf.BytesValue": "",
};

export interface ProtoJsonExampleOptions {
  int64AsNumber?: boolean;
  useProtoFieldNames?: boolean;
}

/** A sample of `desc` in proto3 JSON, without the fields in `omit` (path variables). */
export function messageExample(
  desc: DescMessage,
  options: ProtoJsonExampleOptions = {},
  omit: ReadonlySet<DescField> = new Set(),
): Record<string, unknown> {
  return new Sampler(options).message(desc, new Set(), omit) as Record<string, unknown>;
}

/** A sample of one field's value (a body that is a single field). */
export function fieldExample(field: DescField, options: ProtoJsonExampleOptions = {}): unknown {
  return new Sampler(options).field(field, new Set());
}

class Sampler {
  readonly #options: ProtoJsonExampleOptions;

  constructor(options: ProtoJsonExampleOptions) {
    this.#options = options;
  }

  message(
    desc: DescMessage,
    seen: ReadonlySet<DescMessage>,
    omit: ReadonlySet<DescField> = new Set(),
  ): unknown {
    if (desc.typeName in wellKnownSamples) return wellKnownSamples[desc.typeName];
    if (desc.typeName === "google.protobuf.Int64Value") return this.#int64();
    if (desc.typeName === "google.protobuf.UInt64Value") return this.#int64();
    // Any and Value are left out: no one sample says what they would carry.
    if (desc.typeName === "google.protobuf.Any" || desc.typeName === "google.protobuf.Value") {
      return undefined;
    }
    if (seen.has(desc)) return undefined;
    const inner = new Set(seen).add(desc);
    const sample: Record<string, unknown> = {};
    const oneofsDone = new Set<unknown>();
    for (const field of desc.fields) {
      if (omit.has(field)) continue;
      if (field.oneof) {
        if (oneofsDone.has(field.oneof)) continue;
        oneofsDone.add(field.oneof);
      }
      const value = this.field(field, inner);
      if (value !== undefined) {
        sample[this.#options.useProtoFieldNames ? field.name : field.jsonName] = value;
      }
    }
    return sample;
  }

  field(field: DescField, seen: ReadonlySet<DescMessage>): unknown {
    switch (field.fieldKind) {
      case "scalar":
        return this.scalar(field.scalar, field.name);
      case "enum":
        return enumSample(field.enum);
      case "message":
        return this.message(field.message, seen);
      case "list": {
        const item =
          field.listKind === "scalar"
            ? this.scalar(field.scalar, field.name)
            : field.listKind === "enum"
              ? enumSample(field.enum)
              : this.message(field.message, seen);
        return item === undefined ? [] : [item];
      }
      case "map":
        return {};
    }
  }

  scalar(type: ScalarType, name: string): unknown {
    if (int64Scalars.has(type)) return this.#int64();
    switch (type) {
      case ScalarType.STRING:
        return name;
      case ScalarType.BOOL:
        return true;
      case ScalarType.BYTES:
        return "";
      default:
        return 1;
    }
  }

  #int64(): unknown {
    return this.#options.int64AsNumber ? 1 : "1";
  }
}

/** The first value after the zero one (which usually means "unset"), else the zero one. */
function enumSample(desc: DescEnum): unknown {
  if (desc.typeName === "google.protobuf.NullValue") return null;
  return (desc.values[1] ?? desc.values[0])?.name;
}
