/**
 * @module portal/grpc-error-schema
 * The schema of an error a transcoded request can get: the gateway's one error shape, with
 * the gRPC status's name as `code`, its number as `grpcStatus` and the decoded
 * `google.rpc.Status` details when the method failed (grpc/status), or without those when
 * the gateway itself refused the request (a GATEHOUSE_... code).
 */
import type { OpenApiSchema } from "./openapi-fragment.ts";

export const grpcErrorSchemaName = "GatehouseGrpcError";

export const grpcErrorSchema: OpenApiSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message", "requestId"],
      properties: {
        code: {
          type: "string",
          description: "The gRPC status's name (`NOT_FOUND`…), or the gateway's own code.",
        },
        message: { type: "string" },
        requestId: { type: "string" },
        grpcStatus: { type: "integer", minimum: 0, maximum: 16 },
        details: {
          type: "array",
          description: "The status's details (`google.rpc.BadRequest`…), each with its `@type`.",
          items: { type: "object" },
        },
      },
    },
  },
};
