/**
 * @module sdk/deadline
 * How a caller's deadline travels between services: as the milliseconds it has left when
 * the request is sent (`x-request-timeout-ms`), not as a clock time, since the two hosts'
 * clocks need not agree. The receiving side turns it back into a deadline on its own clock.
 */

import { parseDuration } from "../config/units.ts";

/** The header carrying the caller's remaining time, in whole milliseconds (the gateway sends it too). */
export { deadlineHeader } from "../proxy/headers.ts";

/** The deadline (`Date.now()` time) a request's remaining-time header gives; undefined without one. */
export function deadlineOf(header: string | string[] | undefined): number | undefined {
  if (typeof header !== "string" || !/^\d{1,10}$/.test(header)) return undefined;
  return Date.now() + Number(header);
}

/**
 * The earlier of a call's own timeout (ms from now; 0 or undefined: none) and an inherited
 * deadline; undefined when there is neither.
 */
export function earliestDeadline(
  timeoutMs: number | undefined,
  inherited: number | undefined,
): number | undefined {
  const own = timeoutMs ? Date.now() + timeoutMs : undefined;
  if (own === undefined) return inherited;
  return inherited === undefined ? own : Math.min(own, inherited);
}

/** A timeout given as milliseconds or as a duration (`"5s"`), in milliseconds; `what` names it in the error. */
export function timeoutMs(value: number | string, what: string): number {
  const ms = typeof value === "number" ? value : parseDuration(value);
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
    throw new TypeError(`${what} must be milliseconds or a duration like "5s"`);
  }
  return Math.round(ms);
}
