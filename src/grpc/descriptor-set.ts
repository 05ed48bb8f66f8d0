/**
 * @module grpc/descriptor-set
 * Turns the `.proto` files protobufjs parsed into `google.protobuf.FileDescriptorProto`
 * messages, the form @bufbuild/protobuf builds its registry from. protobufjs's own
 * `toDescriptor` loses what the registry needs (fully qualified type names, `json_name`,
 * one file per `.proto`, imports), so the conversion is done here from its reflection
 * objects, one parsed file at a time.
 */

import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { protoCamelCase } from "@bufbuild/protobuf/reflect";
import {
  type DescriptorProto_ExtensionRangeSchema,
  type DescriptorProtoSchema,
  type EnumDescriptorProtoSchema,
  type FieldDescriptorProtoSchema,
  FieldDescriptorProto_Type as FieldType,
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FieldDescriptorProto_Label as Label,
  type ServiceDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import protobuf from "protobufjs";

type MessageInit = MessageInitShape<typeof DescriptorProtoSchema>;
type FieldInit = MessageInitShape<typeof FieldDescriptorProtoSchema>;
type EnumInit = MessageInitShape<typeof EnumDescriptorProtoSchema>;
type ServiceInit = MessageInitShape<typeof ServiceDescriptorProtoSchema>;
type RangeInit = MessageInitShape<typeof DescriptorProto_ExtensionRangeSchema>;

/** One `.proto` file as parsed: its import name, what it declared, what it imports. */
export interface ParsedFile {
  /** The name other files import it by, e.g. `library/v1/library.proto`. */
  name: string;
  syntax: "proto2" | "proto3";
  package: string | undefined;
  imports: string[];
  /** The top-level messages, enums, services and extensions the file declared. */
  declarations: protobuf.ReflectionObject[];
}

const scalarTypes: Record<string, FieldType> = {
  double: FieldType.DOUBLE,
  float: FieldType.FLOAT,
  int64: FieldType.INT64,
  uint64: FieldType.UINT64,
  int32: FieldType.INT32,
  fixed64: FieldType.FIXED64,
  fixed32: FieldType.FIXED32,
  bool: FieldType.BOOL,
  string: FieldType.STRING,
  bytes: FieldType.BYTES,
  uint32: FieldType.UINT32,
  sfixed32: FieldType.SFIXED32,
  sfixed64: FieldType.SFIXED64,
  sint32: FieldType.SINT32,
  sint64: FieldType.SINT64,
};

/** The descriptor of one parsed file; its types must already be resolved. */
export function fileDescriptor(file: ParsedFile): FileDescriptorProto {
  const init: MessageInitShape<typeof FileDescriptorProtoSchema> = {
    name: file.name,
    package: file.package,
    dependency: file.imports,
    syntax: file.syntax,
    messageType: [],
    enumType: [],
    service: [],
    extension: [],
  };
  for (const declared of file.declarations) {
    if (declared instanceof protobuf.Type) init.messageType!.push(messageDescriptor(declared));
    else if (declared instanceof protobuf.Enum) init.enumType!.push(enumDescriptor(declared));
    else if (declared instanceof protobuf.Service) init.service!.push(serviceDescriptor(declared));
    else if (declared instanceof protobuf.Field) init.extension!.push(fieldDescriptor(declared));
  }
  return create(FileDescriptorProtoSchema, init);
}

function messageDescriptor(type: protobuf.Type): MessageInit {
  // protoc lists the oneofs a `proto3 optional` field makes after the declared ones.
  const oneofs = [
    ...type.oneofsArray.filter((oneof) => !isSyntheticOneof(oneof)),
    ...type.oneofsArray.filter(isSyntheticOneof),
  ];
  const init: MessageInit = {
    name: type.name,
    field: [],
    nestedType: [],
    enumType: [],
    extension: [],
    oneofDecl: oneofs.map((oneof) => ({ name: oneof.name })),
    extensionRange: (type.extensions ?? []).map(
      ([start, end]): RangeInit => ({ start, end: Math.min(end, 0x1fffffff) + 1 }),
    ),
  };
  for (const field of type.fieldsArray) {
    // Fields another file added with `extend` belong to that file's descriptor.
    if (field.declaringField) continue;
    const descriptor = fieldDescriptor(field);
    if (field.partOf) descriptor.oneofIndex = oneofs.indexOf(field.partOf);
    if (field instanceof protobuf.MapField) init.nestedType!.push(mapEntryDescriptor(field));
    init.field!.push(descriptor);
  }
  for (const nested of type.nestedArray) {
    if (nested instanceof protobuf.Type) init.nestedType!.push(messageDescriptor(nested));
    else if (nested instanceof protobuf.Enum) init.enumType!.push(enumDescriptor(nested));
    else if (nested instanceof protobuf.Field) init.extension!.push(fieldDescriptor(nested));
  }
  return init;
}

function isSyntheticOneof(oneof: protobuf.OneOf): boolean {
  return oneof.fieldsArray.length === 1 && oneof.fieldsArray[0].options?.proto3_optional === true;
}

function fieldDescriptor(field: protobuf.Field): FieldInit {
  const options = field.options ?? {};
  const init: FieldInit = {
    name: field.name,
    number: field.id,
    jsonName:
      typeof options.json_name === "string" ? options.json_name : protoCamelCase(field.name),
    label:
      field.repeated || field.map
        ? Label.REPEATED
        : field.required
          ? Label.REQUIRED
          : Label.OPTIONAL,
  };
  if (field instanceof protobuf.MapField) {
    init.type = FieldType.MESSAGE;
    init.typeName = `${field.parent!.fullName}.${mapEntryName(field.name)}`;
  } else if (field.type in scalarTypes) {
    init.type = scalarTypes[field.type];
  } else {
    const resolved = field.resolvedType!;
    init.type = resolved instanceof protobuf.Enum ? FieldType.ENUM : FieldType.MESSAGE;
    init.typeName = resolved.fullName;
  }
  if (field.extend !== undefined) init.extendee = field.extensionField!.parent!.fullName;
  if (options.proto3_optional === true) init.proto3Optional = true;
  if (options.default !== undefined) init.defaultValue = String(options.default);
  if (options.packed !== undefined) init.options = { packed: options.packed === true };
  return init;
}

/** protoc's name for the message a `map<K, V> field_name` is stored as: `FieldNameEntry`. */
function mapEntryName(fieldName: string): string {
  const camel = fieldName.replace(/_+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
  return `${camel.charAt(0).toUpperCase()}${camel.slice(1)}Entry`;
}

function mapEntryDescriptor(field: protobuf.MapField): MessageInit {
  const value: FieldInit = { name: "value", number: 2, jsonName: "value", label: Label.OPTIONAL };
  if (field.type in scalarTypes) {
    value.type = scalarTypes[field.type];
  } else {
    const resolved = field.resolvedType!;
    value.type = resolved instanceof protobuf.Enum ? FieldType.ENUM : FieldType.MESSAGE;
    value.typeName = resolved.fullName;
  }
  const key: FieldInit = { name: "key", number: 1, jsonName: "key", label: Label.OPTIONAL };
  key.type = scalarTypes[field.keyType];
  return { name: mapEntryName(field.name), field: [key, value], options: { mapEntry: true } };
}

function enumDescriptor(enumeration: protobuf.Enum): EnumInit {
  return {
    name: enumeration.name,
    value: Object.entries(enumeration.values).map(([name, number]) => ({ name, number })),
    options: enumeration.options?.allow_alias === true ? { allowAlias: true } : undefined,
  };
}

function serviceDescriptor(service: protobuf.Service): ServiceInit {
  return {
    name: service.name,
    method: service.methodsArray.map((method) => ({
      name: method.name,
      inputType: method.resolvedRequestType!.fullName,
      outputType: method.resolvedResponseType!.fullName,
      clientStreaming: method.requestStream === true,
      serverStreaming: method.responseStream === true,
    })),
  };
}
