/**
 * @module admin/context
 * What an admin API handler is given for one request, and how a handler's change reaches
 * the control plane: as the caller, with the client's `If-Match`, refusals turned into
 * the admin API's errors.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ConfigDocument } from "../config/document.ts";
import type { RouteTraffic } from "../observability/request-metrics.ts";
import { ChangeRefused, type ChangeRequest, type ChangeResult } from "../runtime/config-change.ts";
import type { ControlPlane } from "../runtime/control-plane.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { AdminCaller } from "./auth.ts";
import { AdminError, ifMatchVersion } from "./http.ts";

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
}

/** A handler for one method and path. */
export interface AdminRoute {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  handle(ctx: AdminContext): Promise<void> | void;
}

/** Applies `edit` to the current document as the caller; refusals become AdminErrors. */
export async function changeConfig(
  ctx: AdminContext,
  action: string,
  edit: (document: ConfigDocument) => ConfigDocument,
  extra: Pick<ChangeRequest, "rolledBackTo" | "source"> = { source: "admin" },
): Promise<ChangeResult> {
  try {
    return await ctx.control.change({
      action,
      actor: ctx.caller.actor,
      remoteAddress: ctx.req.socket.remoteAddress,
      requestId: ctx.requestId,
      ifMatch: ifMatchVersion(ctx.req),
      edit,
      ...extra,
    });
  } catch (error) {
    if (error instanceof ChangeRefused)
      throw new AdminError(error.code, error.message, error.problems);
    throw error;
  }
}

/** Refuses a change from inside an edit (the control plane audits it and answers with `code`). */
export function refuse(code: ChangeRefused["code"], message: string): never {
  throw new ChangeRefused(code, message);
}
