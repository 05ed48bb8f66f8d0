/**
 * @module server/request-handler
 * The data plane's entry: framing checks → path normalisation → routing → target
 * selection → forward (HTTP) or tunnel (WebSocket). It reads the current runtime once
 * per request, so a reload never changes a request half way.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { GatehouseConfig } from "../config/schema/index.ts";
import { type ErrorCode, GatehouseError } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import { runLogHooks, runRequestHooks, runResponseHooks } from "../pipeline/chain.ts";
import { RequestContext, runnerState } from "../pipeline/context.ts";
import type { Portal } from "../portal/server.ts";
import { createClientAddressResolver } from "../proxy/client-address.ts";
import { grpcStatusOfError, isGrpcRequest, sendGrpcError } from "../proxy/grpc/error-status.ts";
import { forward } from "../proxy/http-proxy.ts";
import { hasUnreadBody } from "../proxy/request-body.ts";
import { sendAnswer, sendError, writeRawAnswer, writeRawError } from "../proxy/respond.ts";
import { createDestinationBuilder } from "../proxy/upstream-request.ts";
import { openTunnel } from "../proxy/websocket-open.ts";
import { versionVaryHeader } from "../router/api-version.ts";
import type { Runtime } from "../runtime/runtime.ts";
import {
  type Answering,
  createRequestRouter,
  type Fail,
  type Routed,
  type Upgrade,
} from "./admission.ts";
import type { ExchangeObserver, GatewayResponse } from "./exchange.ts";
import { checkFraming } from "./framing.ts";
import {
  callGrpcService,
  createGrpcAnswering,
  createGrpcWebAnswering,
  grpcWebError,
  isGrpcWebRequest,
} from "./grpc-exchange.ts";
import { type ClientTimeout, RequestBodyWatch } from "./request-body-watch.ts";
import { requestIdOf } from "./request-id.ts";

/** What the handler needs from the gateway that owns it. */
export interface HandlerHost {
  runtime(): Runtime;
  draining(): boolean;
  tunnels: Set<Duplex>;
  /** The process log, for failures that are the gateway's or a plugin's, not the client's. */
  log: Logger;
  /** Told when each request starts and finishes (metrics, access log), if anything listens. */
  observer: ExchangeObserver | undefined;
  /** A request was cut because its client sent it too slowly (the metric). */
  clientTimedOut?(timeout: ClientTimeout): void;
  /** The developer portal, answered before routing (`gateway.portal`), when it is on. */
  portal?: Portal;
}

/** The proxy listeners' handlers (see createRequestHandler). */
export type RequestHandler = ReturnType<typeof createRequestHandler>;

/** Builds the `request` and `upgrade` handlers for the proxy listeners of one static config. */
export function createRequestHandler(settings: GatehouseConfig["gateway"], host: HandlerHost) {
  const limits = settings.limits;
  const routeOf = createRequestRouter(settings, host);
  const clientAddress = createClientAddressResolver(settings.trustedProxies);
  const destination = createDestinationBuilder(settings.trustedProxies, clientAddress, host.log);
  const portal = host.portal;
  const versionVary = versionVaryHeader(settings.versioning);

  /** The plugin context of a routed request, when its route has plugins. */
  function contextOf(
    req: IncomingMessage,
    requestId: string,
    routed: Routed,
  ): RequestContext | undefined {
    const route = routed.match.value;
    if (!route.chain) return undefined;
    return new RequestContext({
      req,
      requestId,
      route: route.name,
      service: route.service.name,
      clientAddress: clientAddress(req),
      path: routed.path,
      query: routed.query,
      pattern: routed.match.pattern,
      apiVersion: routed.version,
    });
  }

  const observer = host.observer;
  function exchangeFinished(this: GatewayResponse): void {
    observer!.finished(this);
  }

  const bodies = new RequestBodyWatch(limits, bodyTooSlow);
  /** A request body stalled or took too long: 408, the upstream try aborted, the connection closed. */
  function bodyTooSlow(res: GatewayResponse, timeout: ClientTimeout): void {
    host.clientTimedOut?.(timeout);
    if (res.bodyConsumer?.clientTooSlow()) return;
    if (res.headersSent) res.req.socket?.destroy();
    else sendError(res, "GATEHOUSE_REQUEST_TIMEOUT", res.requestId, { close: true });
  }

  function onRequest(req: IncomingMessage, res: GatewayResponse): void {
    const requestId = requestIdOf(req);
    res.requestId = requestId;
    if (observer) {
      observer.started(res);
      // A response emits `close` once (Node guards it): `on` spares `once`'s wrapper.
      res.on("close", exchangeFinished);
    }
    // A client that expects 100 Continue sends its body once it is asked to (see proceed).
    if (req.headers.expect === undefined && hasUnreadBody(req)) bodies.watch(res);
    try {
      handle(req, res, requestId);
    } catch (error) {
      internalError(res, requestId, error);
    }
  }

  /**
   * Answers a request with an error before any of its steps ran (what HTTP/2 checks that
   * Node's HTTP/1 parser makes itself: a header list too large, a CONNECT), observed like
   * any other answer, so it is counted and logged.
   */
  function refuse(req: IncomingMessage, res: GatewayResponse, code: ErrorCode): void {
    const requestId = requestIdOf(req);
    res.requestId = requestId;
    if (observer) {
      observer.started(res);
      res.on("close", exchangeFinished);
    }
    sendError(res, code, requestId);
    if (hasUnreadBody(req)) res.closeAfterAnswer();
  }

  /** A bug (or a plugin that threw), not a client or upstream fault: 500 rather than a dropped connection. */
  function internalError(res: GatewayResponse, requestId: string, error: unknown): void {
    host.log.error({ err: error, requestId }, "internal error");
    sendError(res, "GATEHOUSE_INTERNAL", requestId, { close: true });
  }

  /**
   * Admits a request or an upgrade: framing → normalise → route → request hooks, then
   * `as` answers it or sends it on. `fail` answers the client with an error.
   */
  function admit<E>(
    as: Answering<E>,
    req: IncomingMessage,
    exchange: E,
    requestId: string,
    fail: Fail,
  ): void {
    const routed = routeOf(req, fail);
    if (!routed) return;
    if (!as.accept(exchange, routed, requestId)) return;
    const ctx = contextOf(req, requestId, routed);
    if (ctx) {
      // onLog runs once the exchange is over however it ends (answered, failed in a hook,
      // cut while a hook waited, tunnelled): what access took (a concurrency slot) comes back.
      const chain = routed.match.value.chain!;
      if (chain.log.length > 0 || chain.byConsumer) as.whenEnded(exchange, () => logHooks(ctx));
      const pending = runRequestHooks(routed.match.value.chain!, ctx);
      if (pending) {
        pending
          .then(() => {
            if (as.resume(exchange, ctx)) as.proceed(req, exchange, requestId, routed, ctx, fail);
          })
          .catch((error: unknown) => as.internalError(exchange, requestId, error));
        return;
      }
    }
    as.proceed(req, exchange, requestId, routed, ctx, fail);
  }

  /** Runs the onLog hooks of the chain the request ran in (the route's or its consumer's). */
  function logHooks(ctx: RequestContext): void {
    const ran = runnerState.chain(ctx);
    if (ran && ran.log.length > 0) runLogHooks(ran, ctx);
  }

  function handle(req: IncomingMessage, res: GatewayResponse, requestId: string): void {
    // gRPC clients (HTTP/2 only) get gRPC statuses for every answer, errors included.
    if (req.httpVersionMajor === 2 && isGrpcRequest(req.headers["content-type"])) {
      const failGrpc = (code: ErrorCode): undefined => {
        res.grpcStatus = grpcStatusOfError[code];
        sendGrpcError(res, code, requestId);
        return undefined;
      };
      admit(answeringGrpc, req, res, requestId, failGrpc);
      return;
    }
    // gRPC-Web clients (browsers) likewise, in gRPC-Web.
    if (isGrpcWebRequest(req.headers["content-type"])) {
      const failGrpcWeb = (code: ErrorCode): undefined => {
        grpcWebError(req, res, requestId, code);
        return undefined;
      };
      admit(answeringGrpcWeb, req, res, requestId, failGrpcWeb);
      return;
    }
    const fail = (
      code: ErrorCode,
      headers?: Record<string, string>,
      message?: string,
    ): undefined => {
      const close =
        code === "GATEHOUSE_BAD_FRAMING" || code === "GATEHOUSE_BAD_HOST" || hasUnreadBody(req);
      const error = message === undefined ? code : new GatehouseError(code, message);
      sendError(res, error, requestId, { close: close || host.draining(), headers });
      if (close) res.closeAfterAnswer();
      return undefined;
    };
    // The portal's path is reserved (no route may take it), whatever spelling of it the
    // target uses. It is served before routing, but only a request whose framing is sound.
    const portalRest = portal?.claim(req.url!);
    if (portalRest !== undefined) {
      const framing = checkFraming(req, limits);
      if (framing) {
        fail(framing);
        return;
      }
      portal!.serve(req, res, requestId, portalRest);
      return;
    }
    admit(answeringHttp, req, res, requestId, fail);
  }

  /** A plain HTTP request, answered through its response. */
  const answeringHttp: Answering<GatewayResponse> = {
    accept(res, routed) {
      const route = routed.match.value;
      res.route = route.name;
      res.service = route.service.name;
      res.routePath = routed.match.pattern.source;
      // Which route (and so which answer) a URL gets depends on the version header too.
      if (versionVary !== undefined) res.varyOn = versionVary;
      // On every answer of the route: the upstream's, a plugin's or the gateway's errors.
      if (route.responseHeaders)
        for (const [name, value] of route.responseHeaders) res.setHeader(name, value);
      return true;
    },
    resume(res) {
      // Cut for a stalled body (408), or the client gone, while a hook waited.
      return !res.headersSent && !res.destroyed;
    },
    proceed,
    internalError,
    whenEnded(res, ended) {
      res.once("close", ended);
    },
  };

  /** A gRPC call: proxied to a `protocol: grpc` service over its targets' HTTP/2 sessions. */
  const answeringGrpc = createGrpcAnswering(answeringHttp, destination);

  /** A gRPC-Web request: proceeds as HTTP does, every answer of the gateway's in gRPC-Web. */
  const answeringGrpcWeb = createGrpcWebAnswering(answeringHttp);

  /**
   * A client that sent `Expect: 100-continue` waits to be asked for its body: ask, and watch
   * the body from then on (a slow one is cut with 408).
   */
  function continueBody(req: IncomingMessage, res: GatewayResponse): void {
    if (req.headers.expect === undefined) return;
    res.writeContinue();
    if (hasUnreadBody(req)) bodies.watch(res);
  }

  /** After the plugins: their answer, or on to the upstream. */
  function proceed(
    req: IncomingMessage,
    res: GatewayResponse,
    requestId: string,
    routed: Routed,
    ctx: RequestContext | undefined,
    fail: (code: ErrorCode) => undefined,
  ): void {
    // The route's chain, or the consumer's own if the plugins named one that has plugins.
    const chain = ctx && runnerState.chain(ctx);
    if (ctx?.consumer) res.consumer = ctx.consumer.name;
    if (ctx && ctx.credentialQuery.length > 0) res.credentialQuery = ctx.credentialQuery;
    if (ctx?.answer) {
      // The plugins' response headers (CORS above all) belong on their own answers too.
      const decorate =
        chain && chain.response.length > 0
          ? (status: number, headers: string[]) => runResponseHooks(chain, ctx, { status, headers })
          : undefined;
      sendAnswer(
        res,
        requestId,
        ctx.answer,
        hasUnreadBody(req) || host.draining(),
        decorate,
      )?.catch((error: unknown) => internalError(res, requestId, error));
      if (hasUnreadBody(req)) res.closeAfterAnswer();
      return;
    }
    if (routed.preflight) {
      // No plugin answered the preflight: the route does not take OPTIONS.
      fail("GATEHOUSE_METHOD_NOT_ALLOWED");
      return;
    }
    const to = destination(req, requestId, routed, ctx, fail);
    if (!to) return;
    res.service = to.service.name;
    // A gRPC service takes gRPC-Web that grpc-web marked, or JSON that grpc-transcode mapped.
    if (to.service.grpc) {
      callGrpcService(req, res, requestId, to, ctx, fail, limits.maxBodySize, () =>
        continueBody(req, res),
      );
      return;
    }
    continueBody(req, res);
    forward({
      req,
      res,
      service: to.service,
      target: to.target,
      selection: to.selection,
      method: to.method,
      path: to.path,
      headers: to.headers,
      preservedHost: to.preservedHost,
      requestId,
      maxBodySize: limits.maxBodySize,
      closeConnection: host.draining,
      log: host.log,
      ctx,
      chain: ctx && runnerState.chain(ctx),
      setCookie: to.setCookie,
      mirror: to.route.mirror?.sampled() ? to.route.mirror : undefined,
    });
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const requestId = requestIdOf(req);
    socket.on("error", () => socket.destroy());
    if (host.draining()) {
      writeRawError(socket, "GATEHOUSE_SHUTTING_DOWN", requestId);
      return;
    }
    const fail = (code: ErrorCode): undefined => {
      writeRawError(socket, code, requestId);
      return undefined;
    };
    try {
      admit(answeringUpgrade, req, { socket, head }, requestId, fail);
    } catch (error) {
      // A plugin hook that threw: as for a request, 500 rather than an uncaught exception.
      answeringUpgrade.internalError({ socket, head }, requestId, error);
    }
  }

  /** A WebSocket upgrade, answered on its raw socket; the route's plugins judge it like any request. */
  const answeringUpgrade: Answering<Upgrade> = {
    accept({ socket }, routed, requestId) {
      if (routed.match.value.websocket) return true;
      writeRawError(socket, "GATEHOUSE_UPGRADE_NOT_ALLOWED", requestId);
      return false;
    },
    resume({ socket }) {
      // The client may have gone while a hook waited: its socket is then closed or, its
      // side ended, left half open. No tunnel for it (it would stay open to the upstream).
      if (!socket.destroyed && !socket.readableEnded) return true;
      socket.destroy();
      return false;
    },
    proceed(req, { socket, head }, requestId, routed, ctx, fail) {
      if (ctx?.answer) {
        writeRawAnswer(socket, requestId, ctx.answer);
        return;
      }
      const to = destination(req, requestId, routed, ctx, fail);
      if (!to) return;
      openTunnel({
        req,
        socket,
        head,
        service: to.service,
        selection: to.selection,
        target: to.target,
        preservedHost: to.preservedHost,
        path: to.path,
        headers: to.headers,
        requestId,
        connectTimeout: to.service.timeouts.connect,
        idleTimeout: to.service.timeouts.idle,
        route: { name: to.route.name, service: to.service.name },
        tunnels: host.tunnels,
      });
    },
    internalError({ socket }, requestId, error) {
      host.log.error({ err: error, requestId }, "internal error");
      writeRawError(socket, "GATEHOUSE_INTERNAL", requestId);
    },
    // An upgrade is over when its socket closes: answered, refused, or its tunnel's end.
    whenEnded({ socket }, ended) {
      socket.once("close", ended);
    },
  };

  /** Only WebSocket upgrades are upgrades; `Upgrade: h2c` and others are served as plain HTTP/1.1. */
  function shouldUpgrade(req: IncomingMessage): boolean {
    return req.headers.upgrade?.toLowerCase() === "websocket";
  }

  /** Node's parser cut a client that did not send its headers in time (already answered 408). */
  function headersTooSlow(): void {
    host.clientTimedOut?.("headers");
  }

  return { onRequest, onUpgrade, shouldUpgrade, headersTooSlow, refuse };
}
