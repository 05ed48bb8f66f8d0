/**
 * @module sdk/saga/saga-options
 * Reads the durations a saga definition is given (`250ms`, `30s`, or milliseconds), once,
 * when it is defined: a bad value fails there, not in the middle of a saga.
 */
import { parseDuration } from "../../config/units.ts";
import type { Duration } from "./types.ts";

/** The longest a Node timer waits; a longer one would fire at once. */
const longestTimerMs = 2 ** 31 - 1;

/** Milliseconds in `value`; a TypeError naming `what` when it is not a positive duration. */
export function durationMs(value: Duration, what: string): number {
  const ms = typeof value === "number" ? value : parseDuration(String(value));
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0)
    throw new TypeError(`${what}: ${JSON.stringify(value)} is not a duration such as "30s" or 500`);
  if (ms > longestTimerMs)
    throw new TypeError(`${what}: ${JSON.stringify(value)} is longer than 24 days`);
  return ms;
}
