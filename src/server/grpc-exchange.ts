/**
 * @module server/grpc-exchange
 * The request path's gRPC steps, after routing and the route's plugins: a gRPC client's call
 * forwarded to a `protocol: grpc` service (every answer a gRPC status); a gRPC-Web request
 * answered in gRPC-Web (its errors too), made as a native call when the `grpc-web` plugin
 * marked it; and an HTTP/JSON request to such a service made as a call when `grpc-transcode`
 * matched it (refused 415 otherwise: the service cannot read JSON).
 */

import type { IncomingMessage } from "node:http";
import type { ErrorCode } from "../errors.ts";
import { GrpcStatus } from "../grpc/status.ts";
import { transcodedCallKey } from "../grpc/transcode-state.ts";
import { grpcWebMode } from "../grpc/web.ts";
import { grpcWebCallKey } from "../grpc/web-state.ts";
import { runResponseHooks } from "../pipeline/chain.ts";
import { type RequestContext, runnerState } from "../pipeline/context.ts";
import { sendGrpcAnswer, sendGrpcStatus } from "../proxy/grpc/error-status.ts";
import { forwardGrpc } from "../proxy/grpc/forward-grpc.ts";
import { forwardGrpcWeb } from "../proxy/grpc/forward-grpc-web.ts";
import type { GrpcCallEnd } from "../proxy/grpc/grpc-call.ts";
import { type DecorateHeaders, GrpcWebReply } from "../proxy/grpc/grpc-web-reply.ts";
import { transcodeCall } from "../proxy/grpc/transcode-call.ts";
import { hasUnreadBody } from "../proxy/request-body.ts";
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
        onEnd: recordCallEnd(res),
      });
    },
  };
}

/**
 * How a gRPC-Web request is answered: as an HTTP request is, but a plugin's answer and the
 * gateway's errors after the plugins are gRPC-Web statuses that went through the route's
 * onResponse hooks (so a browser may read them: CORS).
 */
export function createGrpcWebAnswering(
  http: Answering<GatewayResponse>,
): Answering<GatewayResponse> {
  return {
    ...http,
    proceed(req, res, requestId, routed, ctx, fail) {
      if (!ctx) {
        http.proceed(req, res, requestId, routed, ctx, fail);
        return;
      }
      const reply = () => grpcWebReply(req, res, requestId, ctx);
      if (ctx.answer) {
        res.grpcStatus = reply().pluginAnswer(ctx.answer);
        if (hasUnreadBody(req)) res.closeAfterAnswer();
        return;
      }
      http.proceed(req, res, requestId, routed, ctx, (code) => {
        res.grpcStatus = reply().error(code);
        if (hasUnreadBody(req)) res.closeAfterAnswer();
        return undefined;
      });
    },
  };
}

/** Whether a content type is gRPC-Web's: the request is then answered in gRPC-Web. */
export function isGrpcWebRequest(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/grpc-web/i.test(contentType);
}

/** The gateway's own gRPC-Web answer to a request, with no plugins to run. */
export function grpcWebError(
  req: IncomingMessage,
  res: GatewayResponse,
  requestId: string,
  code: ErrorCode,
): void {
  res.grpcStatus = grpcWebReply(req, res, requestId, undefined).error(code);
  if (hasUnreadBody(req)) res.closeAfterAnswer();
}

function grpcWebReply(
  req: IncomingMessage,
  res: GatewayResponse,
  requestId: string,
  ctx: RequestContext | undefined,
): GrpcWebReply {
  const mode = ctx?.get(grpcWebCallKey) ?? grpcWebMode(req.headers["content-type"])!;
  return new GrpcWebReply(res, requestId, mode, ctx && responseHooks(ctx));
}

/** The onResponse hooks of the chain the request ran in, when it has any. */
function responseHooks(ctx: RequestContext): DecorateHeaders | undefined {
  const chain = runnerState.chain(ctx);
  if (!chain || chain.response.length === 0) return undefined;
  return (status, headers) => runResponseHooks(chain, ctx, { status, headers });
}

/**
 * An HTTP request to a gRPC service: the gRPC-Web call the `grpc-web` plugin marked, the
 * call grpc-transcode matched, or 415.
 */
export function callGrpcService(
  req: IncomingMessage,
  res: GatewayResponse,
  requestId: string,
  to: Destination,
  ctx: RequestContext | undefined,
  fail: (code: ErrorCode) => undefined,
  maxBodySize: number,
  /** Asks for the body (100 Continue) and watches it for a client too slow to send it. */
  continueBody: () => void,
): void {
  const web = ctx?.get(grpcWebCallKey);
  const call = web ? undefined : ctx?.get(transcodedCallKey);
  if (web || call) continueBody();
  if (web) {
    forwardGrpcWeb({
      req,
      res,
      requestId,
      mode: web,
      decorate: responseHooks(ctx!),
      service: to.service,
      target: to.target,
      selection: to.selection,
      path: to.path,
      metadata: to.headers,
      timeout: to.service.timeouts.total,
      receivedAt: res.startedAt,
      onEnd: recordCallEnd(res),
    });
    return;
  }
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

/** Writes how a call ended into the exchange record (the access log and metrics read it). */
function recordCallEnd(res: GatewayResponse) {
  return (end: GrpcCallEnd): void => {
    res.target = end.target.url;
    res.retries = end.retries;
    res.grpcStatus = end.code;
  };
}
