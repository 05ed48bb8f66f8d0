/**
 * @module grpc/well-known-files
 * The well-known types' descriptors as @bufbuild/protobuf ships them. The registry is
 * built with these rather than with descriptors converted from the bundled `.proto`
 * text, so the types whose JSON form is special are exactly the ones the library knows.
 */
import type { DescFile } from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  file_google_protobuf_any,
  file_google_protobuf_descriptor,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
} from "@bufbuild/protobuf/wkt";

const embedded = new Map<string, DescFile>(
  [
    file_google_protobuf_any,
    file_google_protobuf_descriptor,
    file_google_protobuf_duration,
    file_google_protobuf_empty,
    file_google_protobuf_field_mask,
    file_google_protobuf_struct,
    file_google_protobuf_timestamp,
    file_google_protobuf_wrappers,
  ].map((file) => [file.proto.name, file]),
);

/** The library's descriptor of a bundled well-known-type file, by import name. */
export function embeddedWellKnownFile(name: string): FileDescriptorProto | undefined {
  return embedded.get(name)?.proto;
}
