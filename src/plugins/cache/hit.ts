/**
 * @module plugins/cache/hit
 * Answering from a stored response: the headers computed when it was stored, its Age and
 * X-Cache-Status, and the body; or 304 when the client's own validators match it.
 */
import type { RequestContext } from "../../pipeline/context.ts";
import type { CacheStatus } from "../../pipeline/telemetry.ts";
import { ageOf, type CachedResponse } from "./entry.ts";
import type { CacheRequest } from "./instance.ts";
import { clientHasCurrent } from "./policy.ts";

/** Headers a 304 carries (RFC 9110 §15.4.5). */
const notModifiedHeaders = ["cache-control", "content-location", "date", "etag", "expires", "vary"];

export function answerFromEntry(
  ctx: RequestContext,
  state: CacheRequest,
  entry: CachedResponse,
  status: CacheStatus,
): void {
  state.status = status;
  state.answered = true;
  const age = ageOf(entry, Date.now());
  if (clientHasCurrent(ctx.headers, entry.headers)) {
    const headers: Record<string, string> = { age, "x-cache-status": status };
    for (const name of notModifiedHeaders) {
      const value = entry.headers[name];
      if (value !== undefined) headers[name] = value;
    }
    ctx.respond(304, "", headers);
    return;
  }
  const headers =
    status === "HIT"
      ? { ...entry.hitHeaders, age }
      : { ...entry.headers, age, "x-cache-status": status };
  ctx.respond(entry.status, entry.body, headers);
}
