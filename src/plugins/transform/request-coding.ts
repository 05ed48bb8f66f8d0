/**
 * @module plugins/transform/request-coding
 * Whether the request body a plugin's transform reads is still encoded: the client's
 * `Content-Encoding` says so, unless a plugin earlier on the request side decodes the body
 * on its way (compression's `decompressRequests`) and said so with `requestBodyDecodedKey`.
 */
import type { RequestContext } from "../../pipeline/context.ts";
import { createStateKey } from "../../pipeline/request-state.ts";
import { isEncoded } from "./json-edits.ts";

/** Set by a plugin whose request-body transform decodes the client's Content-Encoding. */
export const requestBodyDecodedKey = createStateKey<true>("request-body-decoded");

/** Whether the body the request's later transforms read is encoded (compressed). */
export function requestBodyEncoded(ctx: RequestContext): boolean {
  return isEncoded(ctx.headers["content-encoding"]) && ctx.get(requestBodyDecodedKey) !== true;
}
