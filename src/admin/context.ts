/**
 * @module admin/context
 * What an admin API handler is given for one request, and how a handler's change reaches
 * the control plane: as the caller, with the client's `If-Match`; a refusal is the
 * control plane's GatehouseError, answered as it is.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ConfigDocument } from "../config/document.ts";
import { type ErrorCode, GatehouseError } from "../errors.ts";
import type { AuditTrail } from "../observability/audit-log.ts";
import type { RouteTraffic } from "../observability/request-metrics.ts";
import type { WindowSnapshot } from "../observability/request-window.ts";
import type { ChangeRequest, ChangeResult } from "../runtime/config-change.ts";
import type { ControlPlane } from "../runtime/control-plane.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { AdminCaller } from "./auth.ts";
import type { PurgeCache } from "./cache-api.ts";
import { ifMatchVersion } from "./http.ts";

/** One admin API request. */
export interface AdminContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string | undefined>;
  query: URLSearchParams;
  caller: AdminCaller;
  requestId: string;
  control: ControlPlane;
  runtime(): Runtime;
  /** Each route's answers since start; absent when metrics are off. */
  traffic: (() => Map<string, RouteTraffic> | Promise<Map<string, RouteTraffic>>) | undefined;
  /** The request body: JSON, or YAML with `Content-Type: application/yaml`. */
  body(): Promise<unknown>;
  /** The request body as text (bounded like body()). */
  text(): Promise<string>;
  /** The request window of every thread that serves, summed (empty when metrics are off). */
  window(): Promise<WindowSnapshot>;
  /** The audit trail, to read. */
  audit: AuditTrail;
  /** Aborted when the gateway begins to stop: long answers (the stats stream) end then. */
  closing: AbortSignal;
  /** Removes the cache plugin's entries (`DELETE /cache`); absent: nothing is cached. */
  purgeCache?: PurgeCache;
}

/** A handler for one method and path. */
export interface AdminRoute {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  handle(ctx: AdminContext): Promise<void> | void;
  /** Not a GET but changes nothing (a dry run): read-only keys may call it. */
  changesNothing?: boolean;
}

/** Applies `edit` to the current document as the caller; a refusal throws its GatehouseError. */
export async function changeConfig(
  ctx: AdminContext,
  action: string,
  edit: (document: ConfigDocument) => ConfigDocument,
  extra: Pick<ChangeRequest, "rolledBackTo" | "source"> = { source: "admin" },
): Promise<ChangeResult> {
  const request: ChangeRequest = {
    action,
    actor: ctx.caller.actor,
    remoteAddress: ctx.req.socket.remoteAddress,
    requestId: ctx.requestId,
    ifMatch: ifMatchVersion(ctx.req),
    edit,
    ...extra,
  };
  return ctx.control.submit({ kind: "change", request });
}

/** Refuses a change from inside an edit (the control plane audits it and answers with `code`). */
export function refuse(code: ErrorCode, message: string): never {
  throw new GatehouseError(code, message);
}
