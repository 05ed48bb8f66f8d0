/**
 * @module traffic/deprecation
 * The response headers of a route marked `deprecated`, written once at load:
 * `Deprecation` (RFC 9745: a structured-field date, `@<seconds since the epoch>`),
 * `Sunset` (RFC 8594: an HTTP date) and a `Link` with `rel="deprecation"`.
 */
import type { RouteConfig } from "../config/schema/index.ts";

/** The [name, value] pairs a deprecated route's responses carry; undefined for other routes. */
export function deprecationHeaders(route: RouteConfig): [string, string][] | undefined {
  const deprecated = route.deprecated;
  if (!deprecated) return undefined;
  // Without `since` the date is the epoch: a date in the past, so deprecated now.
  const since = deprecated.since === undefined ? 0 : utcMidnight(deprecated.since) / 1000;
  const headers: [string, string][] = [["deprecation", `@${since}`]];
  if (deprecated.sunset !== undefined)
    headers.push(["sunset", new Date(utcMidnight(deprecated.sunset)).toUTCString()]);
  if (deprecated.link !== undefined)
    headers.push(["link", `<${deprecated.link}>; rel="deprecation"; type="text/html"`]);
  return headers;
}

/** Milliseconds at the start (UTC) of a `YYYY-MM-DD` day. */
function utcMidnight(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}
