/**
 * @module plugins/grpc-web
 * Serves a `protocol: grpc` service to browsers speaking gRPC-Web (`application/grpc-web`,
 * `+proto`, and the base64 `-text` variants): the plugin marks such a request, and the
 * proxy makes it a native gRPC call (proxy/grpc/forward-grpc-web). Other requests on the
 * route pass untouched (native gRPC calls, CORS preflights). When the answer allows a
 * cross-origin caller (the `cors` plugin set `Access-Control-Allow-Origin`), the plugin
 * exposes the status headers to it, so a browser client can read them.
 */
import { z } from "zod";
import { grpcWebMode } from "../../grpc/web.ts";
import { grpcWebCallKey } from "../../grpc/web-state.ts";
import { definePlugin } from "../../pipeline/plugin.ts";
import { findHeader, setHeader } from "../../proxy/headers.ts";

const schema = z.strictObject({});

/** What a gRPC-Web client reads from response headers: the status of a trailers-only answer. */
const statusHeaders = ["grpc-status", "grpc-message", "grpc-status-details-bin"];

/** `exposed` with the status headers it lacks appended. */
function withStatusHeaders(exposed: string | undefined): string {
  if (exposed === undefined || exposed.trim() === "") return statusHeaders.join(", ");
  const have = new Set(exposed.split(",").map((name) => name.trim().toLowerCase()));
  if (have.has("*")) return exposed;
  const missing = statusHeaders.filter((name) => !have.has(name));
  return missing.length === 0 ? exposed : `${exposed}, ${missing.join(", ")}`;
}

export const grpcWebPlugin = definePlugin({
  name: "grpc-web",
  schema,
  // Above cors (2000): onResponse runs in reverse order, so this one sees cors's headers.
  priority: 2100,
  create() {
    return {
      onRequest(ctx) {
        const mode = grpcWebMode(ctx.headers["content-type"]);
        if (mode) ctx.set(grpcWebCallKey, mode);
      },
      onResponse(ctx, response) {
        if (!ctx.get(grpcWebCallKey)) return;
        const headers = response.headers;
        if (findHeader(headers, "access-control-allow-origin") === -1) return;
        const at = findHeader(headers, "access-control-expose-headers");
        const exposed = at === -1 ? undefined : headers[at + 1];
        setHeader(headers, "access-control-expose-headers", withStatusHeaders(exposed));
      },
    };
  },
});
