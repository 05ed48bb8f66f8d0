/**
 * @module proxy/grpc/call-headers
 * The HTTP/2 request headers of one gRPC try: the call's pseudo-headers, `te: trailers`,
 * the deadline left, and the client's metadata as the gateway forwards it, less what
 * HTTP/2 forbids and what the call sets itself.
 */
import type { OutgoingHttpHeaders } from "node:http2";

/**
 * Never forwarded: connection-specific headers (HTTP/2 forbids them), `host` (`:authority`
 * says it), and what each try sets itself.
 */
const dropped = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
  "te",
  "content-length",
  "grpc-timeout",
]);

/** What one try sends besides the metadata. */
export interface CallTarget {
  /** `/package.Service/Method`. */
  path: string;
  /** `:authority`: the target's `host:port`, or the client's with preserveHost. */
  authority: string;
  /** The `grpc-timeout` to send (what is left of the deadline), or undefined for none. */
  timeout: string | undefined;
}

/**
 * The request headers for one try. `metadata` is a flat `[name, value, …]` list, as the
 * request handler builds for any upstream (forwarding headers added, hop-by-hop and the
 * client's own identity headers removed); pseudo-headers in it are ignored. A client's
 * `application/grpc+proto` (or other `application/grpc…`) content type is kept.
 */
export function grpcRequestHeaders(
  metadata: readonly string[],
  call: CallTarget,
): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = Object.create(null);
  let contentType: string | undefined;
  for (let i = 0; i < metadata.length; i += 2) {
    const name = metadata[i]!.toLowerCase();
    if (name.startsWith(":") || dropped.has(name)) continue;
    const value = metadata[i + 1]!;
    if (name === "content-type") {
      contentType ??= value;
      continue;
    }
    const prior = headers[name];
    if (prior === undefined) headers[name] = value;
    else if (Array.isArray(prior)) prior.push(value);
    else headers[name] = [String(prior), value];
  }
  headers[":method"] = "POST";
  headers[":path"] = call.path;
  headers[":authority"] = call.authority;
  headers["content-type"] =
    contentType !== undefined && /^application\/grpc(?:[+;]|$)/i.test(contentType)
      ? contentType
      : "application/grpc";
  headers.te = "trailers";
  if (call.timeout !== undefined) headers["grpc-timeout"] = call.timeout;
  return headers;
}
