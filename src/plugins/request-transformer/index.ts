/**
 * @module plugins/request-transformer
 * Changes the request on its way upstream, as Kong's request-transformer does: headers and
 * query arguments (remove, rename, set, add, append), the method and the path, and the
 * fields of a JSON body; values may be templates of the request (`$(path.id)`,
 * `$(consumer.name)`, `$(claims.sub)`). Everything is compiled when the config loads.
 */
import { z } from "zod";
import { httpMethod } from "../../config/schema/http-methods.ts";
import type { RequestContext } from "../../pipeline/context.ts";
import { definePlugin } from "../../pipeline/plugin.ts";
import { encodePathText } from "../../router/path-pattern.ts";
import { compileNamedEdits, editRequestHeaders, editsAnything } from "../transform/header-edits.ts";
import { compileBodyEdits, isJsonType, JsonEditStream } from "../transform/json-edits.ts";
import { editQuery } from "../transform/query-edits.ts";
import { requestBodyEncoded } from "../transform/request-coding.ts";
import { bodyEdits, headerEdits, queryEdits } from "../transform/schema.ts";
import { compileTemplate, templateProblem } from "../transform/template.ts";

const schema = z.strictObject({
  headers: headerEdits.prefault({}).describe("Edits of the headers sent upstream."),
  query: queryEdits.prefault({}).describe("Edits of the query arguments sent upstream."),
  body: bodyEdits
    .optional()
    .describe("Edits of the fields of a JSON request body (other bodies pass untouched)."),
  method: httpMethod.optional().describe("The method sent upstream instead of the client's."),
  path: z
    .string()
    .superRefine((path, ctx) => {
      const problem = templateProblem(path);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .refine((path) => path.startsWith("/"), { message: "must start with /" })
    .refine((path) => !/[?#]/.test(path), { message: "must not contain ? or #: use query" })
    .optional()
    .describe("The path sent upstream (a template: /v2/users/$(path.id)), replacing the route's."),
});

/**
 * A value read from the request, spelt for a path: each segment percent-encoded, and a
 * segment that is only dots escaped, so a parameter cannot climb out of the path.
 */
function pathValue(value: string): string {
  return value
    .split("/")
    .map((segment) =>
      segment === "." || segment === ".."
        ? segment.replaceAll(".", "%2E")
        : encodePathText(segment),
    )
    .join("/");
}

/** Whether the client sends a body (a length above 0, or chunked). */
function hasBody(ctx: RequestContext): boolean {
  const length = ctx.headers["content-length"];
  return ctx.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

export const requestTransformerPlugin = definePlugin({
  name: "request-transformer",
  schema,
  // After authentication and limits (so consumer and claims are known), as in Kong (801).
  priority: 800,
  create(config, scope) {
    const headers = compileNamedEdits(config.headers);
    const query = compileNamedEdits(config.query, (name) => name);
    const editHeaders = editsAnything(headers);
    const editArgs = editsAnything(query);
    const path = config.path === undefined ? undefined : compileTemplate(config.path, pathValue);
    const method = config.method;
    const body = config.body && compileBodyEdits(config.body);
    const maxSize = config.body?.maxSize ?? 0;
    const telemetry = scope.telemetry;

    function editBody(ctx: RequestContext): void {
      if (!isJsonType(ctx.headers["content-type"]) || !hasBody(ctx)) return;
      if (requestBodyEncoded(ctx)) {
        ctx.fail("GATEHOUSE_BODY_ENCODING_UNSUPPORTED");
        return;
      }
      const unparsable = () => telemetry.bodyUntouched(ctx, "unparsable");
      ctx.transformRequestBody(new JsonEditStream(body!, ctx, { unparsable }), { maxSize });
    }

    return {
      beforeUpstream(ctx) {
        if (body) {
          editBody(ctx);
          if (ctx.answer) return;
        }
        if (editHeaders) editRequestHeaders(headers, ctx);
        if (editArgs) ctx.setUpstream({ query: editQuery(query, ctx) });
        if (method !== undefined) ctx.setUpstream({ method });
        if (path) {
          const rendered = path.render(ctx);
          if (rendered !== undefined) ctx.setUpstream({ path: rendered });
        }
      },
    };
  },
});
