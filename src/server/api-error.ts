/**
 * @module server/api-error
 * How the gateway's own APIs (the admin API, the registry API's own listener) answer a
 * request that failed: a GatehouseError as it is, anything else logged and answered as a
 * 500, both in the gateway's error shape; a response already begun is cut instead.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { GatehouseError } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import { sendError } from "../proxy/respond.ts";

/** Answers a failed request to the API called `api` (e.g. `admin API`, as the log says it). */
export function answerApiError(
  api: string,
  req: IncomingMessage,
  res: ServerResponse,
  error: unknown,
  requestId: string,
  log: Logger,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof GatehouseError) {
    sendError(res, error, requestId, { indent: 2 });
    return;
  }
  log.error({ err: error, requestId, method: req.method, url: req.url }, `${api} request failed`);
  sendError(res, "GATEHOUSE_INTERNAL", requestId, { indent: 2 });
}
