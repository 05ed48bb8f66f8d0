/**
 * @module proxy/grpc/transcode-call
 * An HTTP/JSON request the `grpc-transcode` plugin matched, made as a unary gRPC call: the
 * body read whole (bounded by `gateway.limits.maxBodySize`), mapped with the path variables
 * and query to the request message, the call made with the service's tries and retries,
 * and the answer mapped back: the response message as JSON with the method's success
 * status (or the service's `x-http-status`), or a failed status as the gateway's error
 * shape with the gRPC status's name, number and decoded details.
 */
import type { IncomingMessage } from "node:http";
import { GrpcStatus, grpcErrorBody, httpStatusOf } from "../../grpc/status.ts";
import { decodeStatusDetails } from "../../grpc/status-details.ts";
import type { TranscodedCall } from "../../grpc/transcode-state.ts";
import type { GatewayResponse } from "../../server/exchange.ts";
import type { SelectionRequest } from "../../upstream/selectors/selector.ts";
import type { Service } from "../../upstream/service.ts";
import type { Target } from "../../upstream/target.ts";
import { hasUnreadBody } from "../request-body.ts";
import { sendError } from "../respond.ts";
import { streamTranscoded } from "./transcode-stream.ts";
import { callGrpcUnary } from "./unary-call.ts";

export interface TranscodeCall {
  req: IncomingMessage;
  res: GatewayResponse;
  requestId: string;
  call: TranscodedCall;
  /** The query string without its `?`. */
  query: string;
  service: Service;
  target: Target;
  selection: SelectionRequest;
  /** The upstream headers as the gateway builds them: a flat `[name, value, …]` list. */
  headers: readonly string[];
  maxBodySize: number;
}

/** Headers of the JSON request that do not describe the gRPC call. */
const notMetadata = new Set(["content-type", "content-length", "accept", "accept-encoding"]);

/** Reads the body, makes the call, answers the client. */
export function transcodeCall(options: TranscodeCall): void {
  const { req, res, requestId, maxBodySize } = options;
  const { method } = options.call;
  if (method.clientStreaming) {
    const message = `${method.name} takes a stream of requests: not served as JSON`;
    res.grpcStatus = GrpcStatus.UNIMPLEMENTED;
    answer(res, requestId, 501, grpcErrorBody(GrpcStatus.UNIMPLEMENTED, message, requestId));
    if (hasUnreadBody(req)) res.closeAfterAnswer();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  req.on("data", (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (maxBodySize > 0 && size > maxBodySize) {
      refused = true;
      sendError(res, "GATEHOUSE_BODY_TOO_LARGE", requestId, { close: true });
      res.closeAfterAnswer();
      return;
    }
    chunks.push(chunk);
  });
  req.once("end", () => {
    if (!refused) void call(options, Buffer.concat(chunks, size));
  });
}

async function call(options: TranscodeCall, body: Buffer): Promise<void> {
  const { res, requestId, call: matched } = options;
  const { method } = matched;
  const mapped = method.mapRequest({ variables: matched.variables, query: options.query, body });
  if (!mapped.ok) {
    res.grpcStatus = GrpcStatus.INVALID_ARGUMENT;
    const error = grpcErrorBody(GrpcStatus.INVALID_ARGUMENT, mapped.error.message, requestId);
    answer(res, requestId, 400, error);
    return;
  }
  const metadata: string[] = [];
  for (let i = 0; i < options.headers.length; i += 2) {
    const name = options.headers[i]!;
    if (!notMetadata.has(name.toLowerCase())) metadata.push(name, options.headers[i + 1]!);
  }
  if (method.serverStreaming) {
    streamTranscoded({
      req: options.req,
      res,
      requestId,
      method,
      registry: matched.registry,
      message: mapped.bytes,
      service: options.service,
      target: options.target,
      selection: options.selection,
      metadata,
      timeout: options.service.timeouts.total,
      receivedAt: res.startedAt,
    });
    return;
  }
  const cancel = new AbortController();
  const onClose = () => cancel.abort();
  res.once("close", onClose);
  const result = await callGrpcUnary({
    service: options.service,
    target: options.target,
    selection: options.selection,
    path: method.grpcPath,
    metadata,
    message: mapped.bytes,
    timeout: options.service.timeouts.total,
    receivedAt: res.startedAt,
    signal: cancel.signal,
  });
  res.off("close", onClose);
  res.target = result.target.url;
  res.retries = result.retries;
  res.grpcStatus = result.code;
  if (res.destroyed) return;
  if (result.code === GrpcStatus.OK && result.response) {
    const json = method.mapResponse(result.response);
    if (json.ok) {
      const asked = Number(result.headers["x-http-status"]);
      const status =
        Number.isInteger(asked) && asked >= 200 && asked < 300 ? asked : method.successStatus;
      answer(res, requestId, status, json.json);
      return;
    }
    const error = grpcErrorBody(
      GrpcStatus.INTERNAL,
      `the response could not be mapped: ${json.error}`,
      requestId,
    );
    answer(res, requestId, 502, error);
    return;
  }
  const details = decodeStatusDetails(result.details, matched.registry)?.details ?? [];
  const error = grpcErrorBody(result.code, result.message, requestId, details);
  answer(res, requestId, httpStatusOf(result.code), error);
}

function answer(
  res: GatewayResponse,
  requestId: string,
  status: number,
  body: string | object,
): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "x-request-id": requestId,
  });
  res.end(text);
}
