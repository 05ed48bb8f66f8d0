/**
 * @module sdk/server-span
 * `traceHandler()`: wraps a service's `node:http` request handler so that each request gets
 * a server span (a child of the caller's `traceparent`: the gateway's try, or another
 * service's call), and runs inside a call context (call-context.ts) so the calls the handler
 * makes carry the trace, the request id and what is left of the caller's deadline. It also
 * counts the requests being handled, which `Registration.close()` waits for.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  defaultTextMapGetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from "@opentelemetry/semantic-conventions";
import { errorBody, isGatehouseError } from "../errors.ts";
import { requestIdOf } from "../server/request-id.ts";
import { handlingEnded, handlingStarted, withCallContext } from "./call-context.ts";
import { deadlineHeader, deadlineOf } from "./deadline.ts";
import { propagator, sdkTracer } from "./telemetry.ts";

const ATTR_REQUEST_ID = "gatehouse.request_id";
const ATTR_ERROR_CODE = "gatehouse.error_code";

/** A `node:http` request handler (also what Express and most frameworks on it accept). */
export type RequestHandler<
  Req extends IncomingMessage = IncomingMessage,
  Res extends ServerResponse = ServerResponse,
> = (req: Req, res: Res) => unknown;

/**
 * Wraps `handler` so that every request it handles is traced and gives its context to the
 * calls made while handling it:
 *
 * - a server span, child of the request's `traceparent`, ended when the response finishes
 *   (an error for a 5xx answer);
 * - the request id (the caller's `x-request-id`, else a new one), echoed on the response;
 * - the caller's remaining deadline (`x-request-timeout-ms`), which calls made for the
 *   request do not outlive.
 *
 * An error the handler throws (or its promise rejects with) is answered in the gateway's
 * error shape when nothing was sent yet: a `GatehouseError` (a `ServiceCallError`, say) with
 * its code and status, anything else as 500 `GATEHOUSE_INTERNAL`.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { traceHandler } from "gatehouse-gateway/sdk";
 * createServer(traceHandler(async (req, res) => { res.end("ok"); })).listen(9003);
 * ```
 */
export function traceHandler<Req extends IncomingMessage, Res extends ServerResponse>(
  handler: RequestHandler<Req, Res>,
): (req: Req, res: Res) => void {
  return function traced(req: Req, res: Res): void {
    const parent = propagator.extract(ROOT_CONTEXT, req.headers, defaultTextMapGetter);
    const method = req.method ?? "";
    const url = req.url ?? "";
    const queryAt = url.indexOf("?");
    const requestId = requestIdOf(req);
    const span = sdkTracer().startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: method,
          [ATTR_URL_PATH]: queryAt === -1 ? url : url.slice(0, queryAt),
          [ATTR_URL_SCHEME]: "http",
          [ATTR_SERVER_ADDRESS]: (req.headers.host ?? "").replace(/:\d+$/, ""),
          [ATTR_CLIENT_ADDRESS]: req.socket.remoteAddress ?? "",
          [ATTR_REQUEST_ID]: requestId,
        },
      },
      parent,
    );
    if (!res.headersSent) res.setHeader("x-request-id", requestId);
    handlingStarted();
    let errorCode = "";
    res.once("close", () => {
      handlingEnded();
      if (span.isRecording()) {
        const status = res.headersSent ? res.statusCode : 0;
        if (status > 0) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
        if (errorCode !== "") span.setAttribute(ATTR_ERROR_CODE, errorCode);
        if (status >= 500) {
          span.setAttribute(ATTR_ERROR_TYPE, errorCode || String(status));
          span.setStatus({ code: SpanStatusCode.ERROR });
        } else if (status === 0 || !res.writableFinished) {
          span.setAttribute(ATTR_ERROR_TYPE, "client_closed");
        }
      }
      span.end();
    });
    const failed = (error: unknown): void => {
      span.recordException(error as Error);
      errorCode = isGatehouseError(error) ? error.code : "GATEHOUSE_INTERNAL";
      if (res.headersSent) {
        res.destroy(error as Error);
        return;
      }
      const status = isGatehouseError(error) ? error.status : 500;
      const body = isGatehouseError(error)
        ? errorBody(error.code, requestId, error.message, error.problems)
        : errorBody("GATEHOUSE_INTERNAL", requestId);
      res.writeHead(status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
      });
      res.end(body);
    };
    const context = {
      requestId,
      trace: trace.setSpan(parent, span),
      deadline: deadlineOf(req.headers[deadlineHeader]),
    };
    try {
      const result = withCallContext(context, () => handler(req, res));
      if (result instanceof Promise) result.catch(failed);
    } catch (error) {
      failed(error);
    }
  };
}
