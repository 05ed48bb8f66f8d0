/**
 * @module portal/grpc-query-parameters
 * The query parameters of a binding whose body is not the whole request: every request
 * field neither the path nor the body sets, that a query value can carry (scalars, enums,
 * their repeated forms, the one-value well-known types), named as the transcoder reads
 * them (grpc/query-fields): dotted paths into nested messages, `ids=1&ids=2` for a list.
 * Maps and lists of messages cannot come from a query, so they are not listed.
 */
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import type { HttpBinding } from "../grpc/http-rule.ts";
import { isScalarLikeMessage } from "../grpc/query-fields.ts";
import type { ProtoJsonSchemas } from "./proto-json-schema.ts";

/** An OpenAPI Parameter Object `in: query`. */
export type QueryParameter = Record<string, unknown>;

/** How deep nested messages are followed; a recursive message would otherwise never end. */
const maxDepth = 4;

/** The query parameters of `binding`, in field order. */
export function queryParameters(binding: HttpBinding, schemas: ProtoJsonSchemas): QueryParameter[] {
  const taken = binding.variables.map((variable) => variable.fields.map((f) => f.name).join("."));
  if (binding.body instanceof Object) taken.push(binding.body.name);
  const found: QueryParameter[] = [];
  const visit = (
    message: DescMessage,
    names: string[],
    protoPath: string[],
    seen: DescMessage[],
  ) => {
    for (const field of message.fields) {
      const path = [...protoPath, field.name];
      const dotted = path.join(".");
      if (taken.some((t) => dotted === t || dotted.startsWith(`${t}.`))) continue;
      const name = [...names, schemas.fieldName(field)].join(".");
      if (field.fieldKind === "message" && !isScalarLikeMessage(field.message)) {
        const child = field.message;
        if (seen.includes(child) || seen.length >= maxDepth) continue;
        if (child.typeName.startsWith("google.protobuf.")) continue;
        visit(child, [...names, schemas.fieldName(field)], path, [...seen, child]);
        continue;
      }
      const parameter = parameterOf(field, name, schemas);
      if (parameter) found.push(parameter);
    }
  };
  const input = binding.method.input;
  visit(input, [], [], [input]);
  return found;
}

function parameterOf(
  field: DescField,
  name: string,
  schemas: ProtoJsonSchemas,
): QueryParameter | undefined {
  if (field.fieldKind === "map") return undefined;
  if (field.fieldKind === "list" && field.listKind === "message") return undefined;
  const schema = schemas.field(field);
  return {
    name,
    in: "query",
    ...(typeof schema.description === "string" && { description: schema.description }),
    schema,
    // A list is sent as the parameter repeated: `ids=1&ids=2`.
    ...(field.fieldKind === "list" && { style: "form", explode: true }),
  };
}
