/**
 * @module server/grpc-exchange
 * The request path's gRPC steps, after routing and the route's plugins: a gRPC client's call
 * forwarded to a `protocol: grpc` service (every answer a gRPC status), and an HTTP/JSON
 * request to such a service made as a call when `grpc-transcode` matched it (refused 415
 * otherwise: the service cannot read JSON).
 */
import type { IncomingMessage } from "node:http";
import type { ErrorCode } from "../errors.ts";
import { GrpcStatus } from "../grpc/status.ts";
import { transcodedCallKey } from "../grpc/transcode-state.ts";
import type { RequestContext } from "../pipeline/context.ts";
import { sendGrpcAnswer, sendGrpcStatus } from "../proxy/grpc/error-status.ts";
import { forwardGrpc } from "../proxy/grpc/forward-grpc.ts";
import { transcodeCall } from "../proxy/grpc/transcode-call.ts";
import type { Destination, DestinationBuilder } from "../proxy/upstream-request.ts";
import type { Answering } from "./admission.ts";
import type { GatewayResponse } from "./exchange.ts";

/** How a gRPC client's call is answered: as an HTTP request is, but proceeding over gRPC. */
export function createGrpcAnswering(
  http: Answering<GatewayResponse>,
  destination: DestinationBuilder,
): Answering<GatewayResponse> {
  return {
    ...http,
    proceed(req, res, requestId, routed, ctx, fail) {
      if (ctx?.answer) {
        res.grpcStatus = sendGrpcAnswer(res, requestId, ctx.answer);
        return;
      }
      const to = destination(req, requestId, routed, ctx, fail);
      if (!to) return;
      res.service = to.service.name;
      if (!to.service.grpc) {
        const message = `service ${to.service.name} does not speak gRPC (its protocol is http)`;
        res.grpcStatus = GrpcStatus.UNIMPLEMENTED;
        sendGrpcStatus(res, GrpcStatus.UNIMPLEMENTED, message, { "x-request-id": requestId });
        return;
      }
      forwardGrpc({
        service: to.service,
        target: to.target,
        selection: to.selection,
        path: to.path,
        metadata: to.headers,
        body: req,
        res,
        requestId,
        timeout: to.service.timeouts.total,
        receivedAt: res.startedAt,
        onEnd(end) {
          res.target = end.target.url;
          res.retries = end.retries;
          res.grpcStatus = end.code;
        },
      });
    },
  };
}

/** An HTTP request to a gRPC service: the call grpc-transcode matched, or 415. */
export function transcodeOrRefuse(
  req: IncomingMessage,
  res: GatewayResponse,
  requestId: string,
  to: Destination,
  ctx: RequestContext | undefined,
  fail: (code: ErrorCode) => undefined,
  maxBodySize: number,
): void {
  const call = ctx?.get(transcodedCallKey);
  if (!call) {
    fail("GATEHOUSE_UNSUPPORTED_MEDIA_TYPE");
    return;
  }
  transcodeCall({
    req,
    res,
    requestId,
    call,
    query: to.selection.query,
    service: to.service,
    target: to.target,
    selection: to.selection,
    headers: to.headers,
    maxBodySize,
  });
}
