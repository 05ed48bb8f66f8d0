/**
 * @module plugins/compression
 * Compresses response bodies with zstd, brotli or gzip as the client's `Accept-Encoding`
 * allows, streaming (each upstream chunk is flushed through to the client), for the
 * content types and sizes worth it; and, when asked, decodes compressed request bodies
 * before the upstream sees them, bounded by the size they decode to.
 */
import { definePlugin, type PluginHooks } from "../../pipeline/plugin.ts";
import { combinedHeaderValue } from "../../proxy/headers.ts";
import { requestBodyDecodedKey } from "../transform/request-coding.ts";
import { compileContentTypes } from "./content-types.ts";
import { type EncoderFactory, encoderFactory } from "./encoders.ts";
import { createNegotiator, type Encoding } from "./negotiate.ts";
import { DecodedBody, requestDecoder } from "./request-decoding.ts";
import { addVaryAcceptEncoding, compressibleResponse, markCompressed } from "./response-headers.ts";
import { compressionSchema } from "./schema.ts";

/**
 * A compressed response is read whole by no one: its bound is the body's own (the
 * gateway's limits, the upstream's length), not one of this plugin's.
 */
const unbounded = { maxSize: Number.MAX_SAFE_INTEGER };

export const compressionPlugin = definePlugin({
  name: "compression",
  schema: compressionSchema,
  // The highest of the built-ins. onResponse runs in reverse priority order, so this one
  // runs last: it sees the headers every other plugin set and compresses the body after
  // their transforms. On the request side its decoding comes before any other transform.
  priority: 4000,
  create(config) {
    const negotiate = createNegotiator(config.encodings);
    const compressible = compileContentTypes(config.types);
    const encoders = new Map<Encoding, EncoderFactory>(
      config.encodings.map((encoding) => [encoding, encoderFactory(encoding, config.levels)]),
    );
    const { minSize, maxDecompressedSize } = config;

    const hooks: PluginHooks = {
      onResponse(ctx, response) {
        // A plugin's own answer gets these hooks' headers only: its body is sent as it is.
        if (ctx.answer) return;
        const facts = compressibleResponse(ctx.method, response.status, response.headers);
        if (!facts || !compressible(facts.contentType)) return;
        const length = facts.contentLength;
        // Whether a response is compressed depends on the request's Accept-Encoding from
        // here on (a smaller one of the same resource may still be): caches must know.
        addVaryAcceptEncoding(response.headers);
        if (length !== undefined && (length < minSize || length === 0)) return;
        const encoding = negotiate(combinedHeaderValue(ctx.headers["accept-encoding"]));
        if (encoding === undefined) return;
        markCompressed(response.headers, encoding);
        ctx.transformResponseBody(encoders.get(encoding)!(length), unbounded);
      },
    };
    if (config.decompressRequests) {
      hooks.onRequest = (ctx) => {
        const coding = ctx.headers["content-encoding"];
        if (coding === undefined) return;
        const decoder = requestDecoder(coding);
        // A coding not decoded here (or several stacked) goes upstream as it came.
        if (!decoder) return;
        ctx.transformRequestBody(new DecodedBody(decoder, maxDecompressedSize), {
          maxSize: maxDecompressedSize,
        });
        ctx.setUpstreamHeader("content-encoding", undefined);
        // Transforms asked for after this one read the decoded body (request-transformer).
        ctx.set(requestBodyDecodedKey, true);
      };
    }
    return hooks;
  },
});
