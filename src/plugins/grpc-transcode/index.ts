/**
 * @module plugins/grpc-transcode
 * Serves gRPC methods to HTTP/JSON clients by the `google.api.http` rules of the service's
 * `.proto` files: the request's HTTP method and path pick the method (404 for a path no rule
 * binds, 405 for a method it does not), and the proxy makes the call (proxy/grpc/transcode-call)
 * when the route's service is `protocol: grpc`. The protos are read and checked when the
 * config is validated, their problems located in the `.proto` files; the config depends on
 * them, so an edit to one is applied as a new config. They are parsed once per load
 * (grpc/proto-cache): check, files and create share it.
 */
import { z } from "zod";
import { cachedProtos } from "../../grpc/proto-cache.ts";
import { bundledProtoDir } from "../../grpc/proto-loader.ts";
import { transcodedCallKey } from "../../grpc/transcode-state.ts";
import { Transcoder, type TranscoderOptions } from "../../grpc/transcoder.ts";
import { definePlugin, type PluginCheckProblem } from "../../pipeline/plugin.ts";
import { grpcOpenApiFragment } from "../../portal/grpc-openapi.ts";
import type { OpenApiFragment } from "../../portal/openapi-fragment.ts";

const schema = z.strictObject({
  protos: z
    .array(z.string().min(1))
    .min(1)
    .describe(
      "The `.proto` files that declare the services and their `google.api.http` rules, relative to the config file.",
    ),
  includeDirs: z
    .array(z.string().min(1))
    .default([])
    .describe(
      "Where imports are looked up, in order, relative to the config file (`google/api/…`, `google/rpc/…` and the well-known types come with Gatehouse).",
    ),
  int64AsNumber: z
    .boolean()
    .default(false)
    .describe("Print 64-bit integers as JSON numbers instead of strings."),
  emitDefaults: z.boolean().default(false).describe("Print fields that hold their default value."),
  useProtoFieldNames: z
    .boolean()
    .default(false)
    .describe("Print `.proto` field names (`page_size`) instead of JSON names (`pageSize`)."),
  ignoreUnknownQueryParameters: z
    .boolean()
    .default(false)
    .describe("Drop query parameters that name no request field, instead of answering 400."),
  ignoreUnknownFields: z
    .boolean()
    .default(false)
    .describe("Drop JSON body fields the request message does not have, instead of answering 400."),
  statuses: z
    .record(z.string(), z.number().int().min(200).max(299))
    .default({})
    .describe(
      "The HTTP status of a success, by `package.Service/Method` (e.g. 201 for a create); default 200. A service may also set it per call in the `x-http-status` response header.",
    ),
});

type Config = z.output<typeof schema>;

function transcoderOptions(config: Config, baseDir: string): TranscoderOptions {
  return { ...config, baseDir };
}

export const grpcTranscodePlugin = definePlugin({
  name: "grpc-transcode",
  schema,
  // After authentication and limits: a refused request is not parsed.
  priority: 500,
  check(config, { baseDir }) {
    const created = Transcoder.create(transcoderOptions(config, baseDir));
    if (created.ok) return [];
    return created.problems.map(
      (problem): PluginCheckProblem =>
        problem.line !== undefined
          ? {
              message: problem.message,
              at: { file: problem.file, line: problem.line, col: problem.col ?? 1 },
            }
          : { message: `${problem.file}: ${problem.message}`, path: ["protos"] },
    );
  },
  files(config, { baseDir }) {
    const loaded = cachedProtos(transcoderOptions(config, baseDir));
    if (!loaded.ok) return [];
    // The bundled google/* files are Gatehouse's own: they change only with it.
    return loaded.protos.files.filter((file) => !file.startsWith(bundledProtoDir));
  },
  create(config, scope) {
    const created = Transcoder.create(transcoderOptions(config, scope.baseDir));
    if (!created.ok) throw new Error(created.problems.map((problem) => problem.message).join("; "));
    const { transcoder } = created;
    let fragment: OpenApiFragment | undefined;
    return {
      // The routes the protos made, for the admin API's runtime view.
      describe: () => ({ bindings: transcoder.bindings() }),
      // The same bindings for the developer portal, built when first asked for.
      openapi: () =>
        (fragment ??= grpcOpenApiFragment(transcoder.methods(), {
          int64AsNumber: config.int64AsNumber,
          useProtoFieldNames: config.useProtoFieldNames,
          comments: transcoder.protos.comments,
        })),
      beforeUpstream(ctx) {
        const found = transcoder.match(ctx.method, ctx.path);
        if (found.kind === "method") {
          const { method, variables } = found;
          ctx.set(transcodedCallKey, { method, variables, registry: transcoder.protos.registry });
          return;
        }
        if (found.kind === "method-not-allowed") {
          ctx.fail("GATEHOUSE_METHOD_NOT_ALLOWED", undefined, { allow: found.allowed.join(", ") });
          return;
        }
        ctx.fail("GATEHOUSE_ROUTE_NOT_FOUND");
      },
    };
  },
});
