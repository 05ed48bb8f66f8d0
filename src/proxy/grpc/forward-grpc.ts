/**
 * @module proxy/grpc/forward-grpc
 * Proxies a gRPC client's call (an HTTP/2 request with `content-type: application/grpc…`)
 * to the service: the call (see grpc-call) streams the client's request upstream, and its
 * response headers, messages and trailers are written to the client's response with
 * back-pressure. A call that ends before any response (retries exhausted, deadline, no
 * connection) is answered trailers-only, as gRPC servers do.
 */
import type { OutgoingHttpHeaders } from "node:http2";
import type { Readable } from "node:stream";
import { endTrailersOnly, type GrpcResponseLike } from "./error-status.ts";
import { type GrpcCallEnd, type GrpcCallOptions, startGrpcCall } from "./grpc-call.ts";

/** What the client's response must offer: an Http2ServerResponse does. */
export interface GrpcClientResponse extends GrpcResponseLike {
  readonly destroyed: boolean;
  writeHead(status: number, headers: OutgoingHttpHeaders): unknown;
  write(chunk: Buffer): boolean;
  once(event: "drain" | "close", listener: () => void): unknown;
  off(event: "close", listener: () => void): unknown;
}

export interface GrpcForward extends Omit<GrpcCallOptions, "signal" | "body"> {
  /** The client's request body (framed messages). */
  body: Readable;
  res: GrpcClientResponse;
  requestId: string;
  /** Told how the call ended (its status for metrics and the access log, the last target). */
  onEnd?: (end: GrpcCallEnd) => void;
}

/** Forwards the call and answers the client; the client going away cancels it upstream. */
export function forwardGrpc(forward: GrpcForward): void {
  const { res, requestId } = forward;
  const cancel = new AbortController();
  // The response closing before the call ended: the client reset its stream or went away.
  // (An Http2ServerResponse says writableFinished even then, so that cannot tell.)
  const onClose = () => cancel.abort();
  res.once("close", onClose);
  startGrpcCall(
    { ...forward, signal: cancel.signal },
    {
      onHeaders(headers) {
        res.writeHead(200, { ...(headers as OutgoingHttpHeaders), "x-request-id": requestId });
      },
      onData(chunk, resume) {
        if (res.write(chunk)) return true;
        res.once("drain", resume);
        return false;
      },
      onEnd(end) {
        res.off("close", onClose);
        forward.onEnd?.(end);
        if (res.destroyed) return;
        if (end.headersSent) {
          res.addTrailers(end.trailers as OutgoingHttpHeaders);
          res.end();
          return;
        }
        endTrailersOnly(res, {
          "content-type": "application/grpc",
          ...(end.trailers as OutgoingHttpHeaders),
          "x-request-id": requestId,
        });
      },
    },
  );
}
