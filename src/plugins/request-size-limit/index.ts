/**
 * @module plugins/request-size-limit
 * A per-route limit on the declared request body size: a `Content-Length` above
 * `maxBodySize` is refused with 413 before anything is read or forwarded. Chunked bodies
 * have no length to judge up front; the gateway-wide `gateway.limits.maxBodySize` cuts
 * those off while they stream.
 */
import { z } from "zod";
import { size } from "../../config/schema/fields.ts";
import { definePlugin } from "../../pipeline/plugin.ts";

const schema = z.strictObject({
  maxBodySize: size("1mb")
    .refine((bytes) => bytes > 0, { message: "must be more than 0 bytes" })
    .describe("The largest Content-Length this route accepts."),
});

export const requestSizeLimitPlugin = definePlugin({
  name: "request-size-limit",
  schema,
  // Early in access: refuse before authentication spends work on a body that cannot pass.
  priority: 1100,
  create(config) {
    const limit = config.maxBodySize;
    return {
      access(ctx) {
        const length = ctx.headers["content-length"];
        // Node has already rejected a malformed or conflicting Content-Length.
        if (length !== undefined && Number(length) > limit) ctx.fail("GATEHOUSE_BODY_TOO_LARGE");
      },
    };
  },
});
