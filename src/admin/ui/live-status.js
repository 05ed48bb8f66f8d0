// @module admin/ui/live-status
// What the live pages (overview, upstreams) say about the state of things in words as well
// as colour: a service's availability as a badge, and what went wrong with a refresh.
import { ApiError } from "./api.js";
import { errorAlert } from "./dom.js";

/**
 * A service's availability as a badge cell (live-table.js): all of its targets available
 * (ok), some (warn), none (bad), or no targets at all (off).
 * @param {{ available: number, total: number }} counts
 */
export function availability({ available, total }) {
  if (total === 0) return { badge: "off", text: "no targets" };
  const kind = available === total ? "ok" : available === 0 ? "bad" : "warn";
  return { badge: kind, text: `${available} of ${total} available` };
}

/**
 * What a live page shows when a refresh failed: the API's error, or, when the gateway did
 * not answer at all (fetch's TypeError), that the page keeps trying.
 */
export function liveAlert(error) {
  if (error instanceof ApiError) return errorAlert(error);
  return errorAlert({ message: "The gateway does not answer: trying again every 2 seconds." });
}
