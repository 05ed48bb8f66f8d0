/**
 * @module plugins/request-validation/response-check
 * `validateResponses`: the upstream's response against the operation's responses in the
 * document (the status, its content type, a JSON body against its schema). Only ever
 * reported, logged and counted: the body streams to the client as it comes, and a copy
 * (up to `maxBodySize`) is checked once it ended.
 */
import type { RequestContext } from "../../pipeline/context.ts";
import type { PluginScope, ResponseView } from "../../pipeline/plugin.ts";
import { BodyCopy } from "./body-reader.ts";
import { bareMediaType } from "./operations.ts";
import { checkJson, matchMedia, responseMedia } from "./request-check.ts";
import { type CompiledOperation, isJsonMediaType, type Problem } from "./validators.ts";

function header(response: ResponseView, name: string): string | undefined {
  const headers = response.headers;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === name) return headers[i + 1];
  }
  return undefined;
}

export function validateResponse(
  ctx: RequestContext,
  response: ResponseView,
  operation: CompiledOperation,
  limit: number,
  { telemetry, log }: PluginScope,
): void {
  const { status } = response;
  // No body to check; an encoded one (gzip) is not read here.
  if (ctx.method === "HEAD" || status === 204 || status === 304 || ctx.answer) return;
  const encoding = header(response, "content-encoding");
  if (encoding !== undefined && encoding.toLowerCase() !== "identity") return;
  const done = (problems: Problem[]) => {
    telemetry.responseValidation(ctx, problems.length === 0 ? "valid" : "invalid");
    if (problems.length === 0) return;
    const fields = {
      requestId: ctx.requestId,
      method: ctx.method,
      path: ctx.path,
      status,
      problems,
    };
    log.warn(fields, "response does not match the OpenAPI document");
  };
  const media = responseMedia(operation, status);
  if (!media) {
    done([{ in: "response", pointer: "", message: `status ${status} is not in the document` }]);
    return;
  }
  if (media.length === 0) {
    done([]);
    return;
  }
  const contentType = header(response, "content-type") ?? "";
  const matched = matchMedia(media, contentType);
  if (!matched) {
    const types = media.map((entry) => entry.type).join(", ");
    done([{ in: "response", pointer: "/content-type", message: `must be one of: ${types}` }]);
    return;
  }
  if (!matched.validate || !isJsonMediaType(bareMediaType(contentType))) {
    done([]);
    return;
  }
  const copy = new BodyCopy(limit, (body) => {
    if (body) done(checkJson(matched, body, "response"));
  });
  ctx.transformResponseBody(copy, { maxSize: Number.MAX_SAFE_INTEGER });
}
