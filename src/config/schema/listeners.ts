/**
 * @module config/schema/listeners
 * What the proxy listeners accept: where they bind, the limits that protect them, and how
 * a request's path is normalised before routing. Static: part of `gateway`.
 */
import { z } from "zod";
import { duration, port, size } from "./fields.ts";
import { http2LimitsSchema } from "./http2.ts";
import { tlsSchema } from "./tls.ts";

export const listenerSchema = z
  .strictObject({
    host: z.string().default("0.0.0.0").describe("Address to bind."),
    port: port.describe("TCP port to bind; 0 picks a free one."),
    tls: tlsSchema.optional(),
    redirectToHttps: port
      .min(1)
      .optional()
      .describe(
        "Answer every request on this plaintext listener with a 308 redirect to the same host and path over HTTPS on this port (443 is left out of the URL).",
      ),
    http2: z
      .boolean()
      .default(false)
      .describe(
        "Serve HTTP/2 besides HTTP/1.1 on this port: chosen by ALPN (`h2`) on a TLS listener, by the HTTP/2 connection preface (h2c with prior knowledge) on a plaintext one. Limits: `gateway.limits.http2`.",
      ),
  })
  .refine((listener) => !(listener.tls && listener.redirectToHttps), {
    message: "redirectToHttps is for a plaintext listener; this one has tls",
    path: ["redirectToHttps"],
  })
  .describe("A listener: where clients connect.");

export const limitsSchema = z
  .strictObject({
    maxHeaderSize: size("16kb").describe(
      "Largest request line plus headers, in bytes; larger gets 431.",
    ),
    maxHeaderCount: z
      .number()
      .int()
      .min(1)
      .default(100)
      .describe("Most request headers; more gets 431."),
    maxUriLength: z
      .number()
      .int()
      .min(1)
      .default(8192)
      .describe("Longest request target; longer gets 414."),
    maxBodySize: size("10mb").describe("Largest request body; larger gets 413. 0 means no limit."),
    requestHeadersTimeout: duration("30s").describe(
      "Time a client has to send the request line and headers, from its first byte (or from connecting); past it, 408 and the connection is closed. Enforced to within a second (a tenth of the shortest of the three request timeouts, when that is less).",
    ),
    requestBodyIdleTimeout: duration("30s").describe(
      "Longest pause while a client sends a request body; past it, 408 and the connection is closed (a try already sent upstream is aborted). Time the gateway itself does not read, because the upstream takes the body slower than the client sends it, does not count. 0s means no limit.",
    ),
    requestBodyTimeout: duration("5m").describe(
      "Time a client has to send a whole request body, from the end of its headers; past it, 408 and the connection is closed (a try already sent upstream is aborted). Bounds a body that keeps trickling under `requestBodyIdleTimeout`; raise it with `maxBodySize` for large uploads on slow links. 0s means no limit.",
    ),
    maxClientConnections: z
      .union([z.literal("auto"), z.number().int().min(0)], {
        error: "expected auto, 0 (no limit) or a whole number of connections",
      })
      .default("auto")
      .describe(
        "Most client connections the proxy listeners hold open at once, counted per node (every listener and worker thread together); one more is answered 503 `GATEHOUSE_CONNECTION_LIMITED` and closed. `auto` derives it from the process's open-file limit, leaving room for upstream connections, files and the status and admin listeners, which never count (see docs/architecture.md). 0 means no limit.",
      ),
    keepAliveTimeout: duration("65s").describe(
      "How long an idle client keep-alive connection is kept (an HTTP/2 connection with no open stream, too).",
    ),
    http2: http2LimitsSchema,
  })
  .prefault({})
  .describe("Limits that protect the listeners.");

export const pathsSchema = z
  .strictObject({
    encodedSlashes: z
      .enum(["reject", "decode", "keep"])
      .default("reject")
      .describe(
        "What to do with `%2F` and `%5C` (and a raw `\\`) in a path: `reject` answers 400, `decode` turns them into `/` before routing, `keep` routes and forwards them encoded (answering 400 when one hides a dot segment, as `..%2F` does).",
      ),
    mergeSlashes: z.boolean().default(false).describe("Collapse `//` into `/` before routing."),
  })
  .prefault({})
  .describe("How request paths are normalised before routing.");
