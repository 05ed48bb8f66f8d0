/**
 * @module admin/audit-api
 * `GET /audit`: the audit trail (observability/audit-log), newest first, filtered by who
 * (`actor`), where from (`source`), how it ended (`outcome`: accepted, rejected, unchanged)
 * and when (`since`, `until`: ISO 8601 times), at most `limit` records.
 */
import { GatehouseError } from "../errors.ts";
import type { AuditRecord } from "../observability/audit-log.ts";
import type { AdminContext, AdminRoute } from "./context.ts";
import { sendJson } from "./http.ts";

export const defaultAuditLimit = 100;
export const maxAuditLimit = 1000;
const outcomes = ["accepted", "rejected", "unchanged"];

export function auditRoutes(): AdminRoute[] {
  return [{ method: "GET", path: "/audit", handle: listAudit }];
}

async function listAudit(ctx: AdminContext): Promise<void> {
  const { query } = ctx;
  const actor = query.get("actor");
  const source = query.get("source");
  const outcome = query.get("outcome");
  if (outcome !== null && !outcomes.includes(outcome))
    throw badRequest(`outcome is one of ${outcomes.join(", ")}, not ${outcome}`);
  const since = time(query.get("since"), "since");
  const until = time(query.get("until"), "until");
  const limit = limitOf(query.get("limit"));
  const matches = (record: AuditRecord) => {
    if (actor !== null && record.actor !== actor) return false;
    if (source !== null && record.source !== source) return false;
    if (outcome !== null && record.result !== outcome) return false;
    const at = Date.parse(record.time);
    if (since !== undefined && !(at >= since)) return false;
    if (until !== undefined && !(at <= until)) return false;
    return true;
  };
  const records = await ctx.audit.read();
  const entries: AuditRecord[] = [];
  let matched = 0;
  for (let i = records.length - 1; i >= 0; i--) {
    if (!matches(records[i]!)) continue;
    matched++;
    if (entries.length < limit) entries.push(records[i]!);
  }
  sendJson(ctx.res, 200, { entries, matched, kept: ctx.audit.kept });
}

function time(text: string | null, name: string): number | undefined {
  if (text === null) return undefined;
  const at = Date.parse(text);
  if (!/^\d{4}-\d\d-\d\d/.test(text) || Number.isNaN(at))
    throw badRequest(`${name} is an ISO 8601 time such as 2026-01-31T12:00:00Z, not ${text}`);
  return at;
}

function limitOf(text: string | null): number {
  if (text === null) return defaultAuditLimit;
  const limit = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (!(limit >= 1 && limit <= maxAuditLimit))
    throw badRequest(`limit is a whole number from 1 to ${maxAuditLimit}, not ${text}`);
  return limit;
}

const badRequest = (message: string) => new GatehouseError("GATEHOUSE_ADMIN_BAD_REQUEST", message);
