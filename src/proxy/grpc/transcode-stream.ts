/**
 * @module proxy/grpc/transcode-stream
 * A server-streaming method called for an HTTP/JSON client: each response message written as
 * it arrives, as one NDJSON line (the default) or one Server-Sent Event (when the client
 * accepts `text/event-stream`), with back-pressure from the client to the target. A call that
 * fails before its first message is answered as any transcoded error; one that fails after
 * ends the stream with an error record, never a 200 cut short without a word.
 */
import type { IncomingMessage } from "node:http";
import type { Registry } from "@bufbuild/protobuf";
import { encodeGrpcFrame, GrpcFrameDecoder } from "../../grpc/framing.ts";
import { GrpcStatus, grpcErrorBody, httpStatusOf } from "../../grpc/status.ts";
import { decodeStatusDetails } from "../../grpc/status-details.ts";
import {
  streamContentTypes,
  streamError,
  streamFormatFor,
  streamMessage,
} from "../../grpc/stream-output.ts";
import type { TranscodedMethod } from "../../grpc/transcoder.ts";
import type { GatewayResponse } from "../../server/exchange.ts";
import { type GrpcCallOptions, startGrpcCall } from "./grpc-call.ts";

export interface TranscodedStream extends Omit<GrpcCallOptions, "body" | "path" | "signal"> {
  req: IncomingMessage;
  res: GatewayResponse;
  requestId: string;
  method: TranscodedMethod;
  registry: Registry;
  /** The request message, serialized. */
  message: Uint8Array;
}

/** Makes the call and streams its messages to the client. */
export function streamTranscoded(options: TranscodedStream): void {
  const { req, res, requestId, method, registry, message, ...call } = options;
  const format = streamFormatFor(req.headers.accept);
  const decoder = new GrpcFrameDecoder();
  const cancel = new AbortController();
  const onClose = () => cancel.abort();
  res.once("close", onClose);
  let started = false;
  /** A message the client cannot be sent: the call is given up, this is its status. */
  let broken: { code: number; message: string } | undefined;
  const start = () => {
    if (started) return;
    started = true;
    res.writeHead(method.successStatus, {
      "content-type": streamContentTypes[format],
      "cache-control": "no-cache",
      "x-request-id": requestId,
    });
  };
  startGrpcCall(
    { ...call, path: method.grpcPath, body: encodeGrpcFrame(message), signal: cancel.signal },
    {
      onHeaders() {},
      onData(chunk, resume) {
        if (broken) return true;
        let text = "";
        try {
          for (const frame of decoder.push(chunk)) {
            const json = method.mapResponse(frame.message);
            if (!json.ok) throw new Error(`a response message could not be mapped: ${json.error}`);
            text += streamMessage(format, json.json);
          }
        } catch (error) {
          broken = { code: GrpcStatus.INTERNAL, message: (error as Error).message };
          cancel.abort();
          return true;
        }
        if (text === "") return true;
        start();
        if (res.write(text)) return true;
        res.once("drain", resume);
        return false;
      },
      onEnd(end) {
        res.off("close", onClose);
        res.target = end.target.url;
        res.retries = end.retries;
        const status = broken ?? end;
        res.grpcStatus = status.code;
        if (res.destroyed) return;
        if (status.code === GrpcStatus.OK) {
          start();
          res.end();
          return;
        }
        const details = broken ? [] : (decodeStatusDetails(end.details, registry)?.details ?? []);
        const body = grpcErrorBody(status.code, status.message, requestId, details);
        if (started) {
          res.end(streamError(format, body));
          return;
        }
        const text = JSON.stringify(body);
        res.writeHead(httpStatusOf(status.code), {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(text),
          "x-request-id": requestId,
        });
        res.end(text);
      },
    },
  );
}
