/**
 * @module portal/grpc-openapi
 * The OpenAPI fragment of a `grpc-transcode` plugin entry, built from its compiled bindings:
 * one operation per binding (a rule and each of its `additional_bindings`), with the path
 * parameters of its template, query parameters for the request fields neither the path nor
 * the body sets, the request body its `body` names, the response its output message (or
 * `response_body`) prints as, in the canonical proto3 JSON the transcoder reads and writes
 * with the plugin's print options. Errors are the gateway's JSON error shape.
 */
import type { DescField } from "@bufbuild/protobuf";
import { streamContentTypes } from "../grpc/stream-output.ts";
import type { TranscodedMethod } from "../grpc/transcoder.ts";
import { grpcErrorSchema, grpcErrorSchemaName } from "./grpc-error-schema.ts";
import { type OpenApiPath, openApiPath, segmentSchema } from "./grpc-openapi-path.ts";
import { queryParameters } from "./grpc-query-parameters.ts";
import type { OpenApiFragment, OpenApiOperation, OpenApiSchema } from "./openapi-fragment.ts";
import { fieldExample, messageExample } from "./proto-json-example.ts";
import { type ProtoJsonOptions, ProtoJsonSchemas } from "./proto-json-schema.ts";

/** Methods OpenAPI can describe; a custom rule of another kind is left out. */
const openApiMethods = new Set([
  "GET",
  "PUT",
  "POST",
  "DELETE",
  "OPTIONS",
  "HEAD",
  "PATCH",
  "TRACE",
]);

const errorRef = { $ref: `#/components/schemas/${grpcErrorSchemaName}` };

/** The fragment of one plugin entry's methods, printed with `options`. */
export function grpcOpenApiFragment(
  methods: readonly TranscodedMethod[],
  options: ProtoJsonOptions = {},
): OpenApiFragment {
  const schemas = new ProtoJsonSchemas(options);
  const paths: OpenApiFragment["paths"] = {};
  /** Paths by their shape (`/v1/{}`): OpenAPI holds two paths differing only in names equal. */
  const shapes = new Map<string, string>();
  for (const method of methods) {
    const httpMethod = method.binding.httpMethod;
    // Client streams are not transcoded (the gateway answers 501): nothing to publish.
    if (method.clientStreaming || !openApiMethods.has(httpMethod)) continue;
    const where = openApiPath(method.binding);
    const shape = where.path.replace(/\{[^}]*\}/g, "{}");
    const path = shapes.get(shape) ?? where.path;
    if (path !== where.path) continue; // the same requests are bound under other names
    shapes.set(shape, path);
    paths[path] ??= {};
    const item = paths[path];
    const key = httpMethod.toLowerCase();
    if (item[key] !== undefined) continue;
    item[key] = operation(method, where, schemas, options);
  }
  return { paths, schemas: { ...schemas.schemas, [grpcErrorSchemaName]: grpcErrorSchema } };
}

function operation(
  method: TranscodedMethod,
  where: OpenApiPath,
  schemas: ProtoJsonSchemas,
  options: ProtoJsonOptions,
): OpenApiOperation {
  const { binding } = method;
  const desc = binding.method;
  const comment = options.comments?.get(`${desc.parent.typeName}.${desc.name}`);
  const parameters = [
    ...where.parameters.map((parameter) => ({
      name: parameter.name,
      in: "path",
      required: true,
      description: parameter.description,
      schema: parameter.field ? pathFieldSchema(parameter.field.fields, schemas) : segmentSchema,
    })),
    ...(binding.body === "*" ? [] : queryParameters(binding, schemas)),
  ];
  const requestBody = requestBodyOf(method, schemas, options);
  const streaming = method.serverStreaming;
  return {
    operationId: `${desc.parent.typeName}.${desc.name}${binding.index > 0 ? `.${binding.index}` : ""}`,
    tags: [desc.parent.typeName],
    summary: comment?.split("\n")[0] ?? `${desc.parent.name}.${desc.name}`,
    description: [
      comment,
      `Calls the gRPC method \`${method.name}\`${streaming ? ", a server stream" : ""}.`,
      streaming &&
        "The answer is one JSON message a line (`application/x-ndjson`), or one Server-Sent Event a message when the request accepts `text/event-stream`; a stream that fails after its first message ends with an error record in the error shape.",
    ]
      .filter(Boolean)
      .join("\n\n"),
    "x-gatehouse-grpc-method": method.name,
    ...(parameters.length > 0 && { parameters }),
    ...(requestBody && { requestBody }),
    responses: {
      [String(method.successStatus)]: {
        description: streaming ? "The stream of messages." : "The method's answer.",
        // A HEAD answer has the headers of the GET, and no body.
        ...(binding.httpMethod !== "HEAD" && {
          content: responseContent(method, schemas, streaming),
        }),
      },
      default: {
        description: "An error: the gateway's own, or the gRPC status the method ended with.",
        content: { "application/json": { schema: errorRef } },
      },
    },
  };
}

/** A path variable's schema: its field's (a scalar, an enum or a one-value well-known type). */
function pathFieldSchema(fields: DescField[], schemas: ProtoJsonSchemas): OpenApiSchema {
  return schemas.field(fields.at(-1)!);
}

function requestBodyOf(
  method: TranscodedMethod,
  schemas: ProtoJsonSchemas,
  options: ProtoJsonOptions,
): OpenApiOperation | undefined {
  const { body, variables } = method.binding;
  if (body === undefined) return undefined;
  const input = method.binding.method.input;
  let schema: OpenApiSchema;
  let example: unknown;
  if (body === "*") {
    // The path sets its variables' fields, so the body need not (what it sends is overridden).
    const inPath = new Set(variables.filter((v) => v.fields.length === 1).map((v) => v.fields[0]!));
    schema = inPath.size === 0 ? schemas.message(input) : schemas.messageObject(input, inPath);
    example = messageExample(input, options, inPath);
  } else {
    schema = schemas.field(body);
    example = fieldExample(body, options);
  }
  return {
    description:
      body === "*"
        ? `The \`${input.typeName}\` request${variables.length > 0 ? ", less the fields the path sets" : ""}.`
        : `The request's \`${body.name}\` field.`,
    content: { "application/json": { schema, ...(example !== undefined && { example }) } },
  };
}

function responseContent(
  method: TranscodedMethod,
  schemas: ProtoJsonSchemas,
  streaming: boolean,
): Record<string, unknown> {
  const { responseBody } = method.binding;
  const schema = responseBody
    ? schemas.field(responseBody)
    : schemas.message(method.binding.method.output);
  if (!streaming) return { "application/json": { schema } };
  return {
    [streamContentTypes.ndjson]: { schema, "x-gatehouse-each-line": true },
    [streamContentTypes.sse]: { schema: { type: "string" } },
  };
}
