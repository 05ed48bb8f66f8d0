/**
 * @module proxy/grpc/forward-grpc-web
 * A gRPC-Web request made as a native gRPC call (see grpc-call): the body's frames are
 * gRPC's own, so they go upstream as they came (decoded from base64 for `-text`) under the
 * `application/grpc` content type; the response's messages come back as they are (see
 * grpc-web-reply) and the trailers as the body's last frame. A `-text` body that is not
 * base64 ends the call INVALID_ARGUMENT.
 */
import type { IncomingMessage } from "node:http";
import { type Readable, Transform, type TransformCallback } from "node:stream";
import { GrpcStatus } from "../../grpc/status.ts";
import { Base64StreamDecoder, type GrpcWebMode } from "../../grpc/web.ts";
import { gatewayStatus } from "./call-status.ts";
import { type GrpcCallEnd, type GrpcCallOptions, startGrpcCall } from "./grpc-call.ts";
import { type DecorateHeaders, GrpcWebReply, type GrpcWebResponse } from "./grpc-web-reply.ts";

export interface GrpcWebForward extends Omit<GrpcCallOptions, "signal" | "body"> {
  req: IncomingMessage;
  res: GrpcWebResponse & {
    once(event: "close" | "drain", listener: () => void): unknown;
    off(event: "close", listener: () => void): unknown;
    /** The connection closes once the answer is sent (HTTP/2: the stream is reset). */
    closeAfterAnswer(): void;
  };
  requestId: string;
  mode: GrpcWebMode;
  /** The route's onResponse hooks, given the answer's headers. */
  decorate?: DecorateHeaders;
  /** Told how the call ended (its status for metrics and the access log, the last target). */
  onEnd?: (end: GrpcCallEnd) => void;
}

/** Request headers a gRPC-Web client sends that are not the call's metadata. */
const notMetadata = new Set(["content-type", "x-grpc-web", "accept"]);

/** Makes the call and answers the client; the client going away cancels it upstream. */
export function forwardGrpcWeb(forward: GrpcWebForward): void {
  const { req, res, requestId, mode } = forward;
  const reply = new GrpcWebReply(res, requestId, mode, forward.decorate);
  const cancel = new AbortController();
  const onClose = () => cancel.abort();
  res.once("close", onClose);
  let notBase64 = false;
  const body = mode.text
    ? decodedText(req, () => {
        notBase64 = true;
      })
    : req;
  startGrpcCall(
    {
      ...forward,
      metadata: callMetadata(forward.metadata, mode),
      body,
      signal: cancel.signal,
    },
    {
      onHeaders: (headers) => reply.head(headers),
      onData: (chunk, resume) => reply.data(chunk, resume),
      onEnd(ended) {
        res.off("close", onClose);
        const end = notBase64
          ? {
              ...ended,
              ...gatewayStatus(GrpcStatus.INVALID_ARGUMENT, "the -text request body is not base64"),
            }
          : ended;
        forward.onEnd?.(end);
        if (res.destroyed) return;
        // The rest of a body that is not base64 is not read: the connection cannot go on.
        if (notBase64 && !req.readableEnded) res.closeAfterAnswer();
        reply.end(end.trailers, end.headersSent);
      },
    },
  );
}

/** The metadata as the gateway forwards it, with gRPC's content type for gRPC-Web's. */
function callMetadata(metadata: readonly string[], mode: GrpcWebMode): string[] {
  const sent: string[] = ["content-type", mode.upstreamContentType];
  for (let i = 0; i < metadata.length; i += 2) {
    const name = metadata[i]!;
    if (!notMetadata.has(name.toLowerCase())) sent.push(name, metadata[i + 1]!);
  }
  return sent;
}

/** The `-text` body decoded; `onBad` is told when it is not base64 (the stream then fails). */
function decodedText(req: Readable, onBad: () => void): Readable {
  const decoder = new Base64StreamDecoder();
  const decoded = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      try {
        done(null, decoder.push(chunk.toString("latin1")));
      } catch (error) {
        onBad();
        done(error as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        decoder.end();
        done();
      } catch (error) {
        onBad();
        done(error as Error);
      }
    },
  });
  return req.pipe(decoded);
}
