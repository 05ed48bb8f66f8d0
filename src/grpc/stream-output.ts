/**
 * @module grpc/stream-output
 * A transcoded server stream as HTTP/JSON clients read it: one JSON message a line
 * (NDJSON, the default) or one Server-Sent Event a message, when the client asks for
 * `text/event-stream`. A stream that fails after its first message ends with an error
 * record in the same shape as an error answer, never as a 200 cut short without a word.
 */
import type { GrpcErrorBody } from "./status.ts";

export type StreamFormat = "ndjson" | "sse";

/** The content type of each format. */
export const streamContentTypes: Readonly<Record<StreamFormat, string>> = {
  ndjson: "application/x-ndjson",
  sse: "text/event-stream",
};

/** SSE when the client's Accept names `text/event-stream`; NDJSON otherwise. */
export function streamFormatFor(accept: string | undefined): StreamFormat {
  return accept !== undefined && /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(accept)
    ? "sse"
    : "ndjson";
}

/** One message (its canonical JSON, on one line) in `format`. */
export function streamMessage(format: StreamFormat, json: string): string {
  return format === "sse" ? `data: ${json}\n\n` : `${json}\n`;
}

/** The record that ends a stream that failed: an `error` event in SSE, a line in NDJSON. */
export function streamError(format: StreamFormat, body: GrpcErrorBody): string {
  const json = JSON.stringify(body);
  return format === "sse" ? `event: error\ndata: ${json}\n\n` : `${json}\n`;
}
