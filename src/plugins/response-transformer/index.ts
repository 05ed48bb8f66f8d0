/**
 * @module plugins/response-transformer
 * Changes the upstream's response on its way to the client, as Kong's response-transformer
 * does: headers (remove, rename, set, add, append), the status (`status: { 404: 200 }`)
 * and the fields of a JSON body, bounded. A compressed body is never decompressed: it
 * passes untouched, and is counted.
 */
import { z } from "zod";
import { definePlugin } from "../../pipeline/plugin.ts";
import { findHeader, setHeader } from "../../proxy/headers.ts";
import {
  compileNamedEdits,
  editResponseHeaders,
  editsAnything,
} from "../transform/header-edits.ts";
import {
  compileBodyEdits,
  isEncoded,
  isJsonType,
  JsonEditStream,
} from "../transform/json-edits.ts";
import { bodyEdits, headerEdits } from "../transform/schema.ts";

const statusCode = z.number().int().min(200).max(599);

const schema = z.strictObject({
  headers: headerEdits.prefault({}).describe("Edits of the response headers."),
  body: bodyEdits
    .optional()
    .describe("Edits of the fields of a JSON response body (other bodies pass untouched)."),
  status: z
    .record(z.string().regex(/^[1-5][0-9][0-9]$/, "expected a status code such as 404"), statusCode)
    .default({})
    .describe("Statuses replaced, upstream status: status sent ({ 404: 200 })."),
});

/** The value of a header in a flat list, or undefined. */
function headerValue(headers: readonly string[], name: string): string | undefined {
  const at = findHeader(headers, name);
  return at === -1 ? undefined : headers[at + 1];
}

export const responseTransformerPlugin = definePlugin({
  name: "response-transformer",
  schema,
  // As in Kong (800): onResponse runs lowest priority first, so after security-headers.
  priority: 800,
  create(config, scope) {
    const headers = compileNamedEdits(config.headers);
    const editHeaders = editsAnything(headers);
    const statuses = new Map(Object.entries(config.status).map(([from, to]) => [Number(from), to]));
    const body = config.body && compileBodyEdits(config.body);
    const maxSize = config.body?.maxSize ?? 0;
    const telemetry = scope.telemetry;

    return {
      onResponse(ctx, response) {
        const list = response.headers;
        // An answer a plugin gave (not the upstream's) takes header edits only.
        if (
          body &&
          !ctx.answer &&
          ctx.method !== "HEAD" &&
          isJsonType(headerValue(list, "content-type"))
        ) {
          if (isEncoded(headerValue(list, "content-encoding"))) {
            telemetry.bodyUntouched(ctx, "encoded");
          } else {
            const events = {
              unparsable: () => telemetry.bodyUntouched(ctx, "unparsable"),
              // The head goes out with the body's first (here: only) bytes: it can say its length.
              length: (bytes: number) => setHeader(list, "content-length", String(bytes)),
            };
            ctx.transformResponseBody(new JsonEditStream(body, ctx, events), { maxSize });
          }
        }
        if (editHeaders) editResponseHeaders(headers, list, ctx);
        const status = ctx.answer ? undefined : statuses.get(response.status);
        if (status !== undefined) response.status = status;
      },
    };
  },
});
