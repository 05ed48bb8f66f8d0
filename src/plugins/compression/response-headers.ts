/**
 * @module plugins/compression/response-headers
 * What compressing changes in a response's headers, and which responses must pass as they
 * are: ones already encoded, ranges, `Cache-Control: no-transform`, and responses without
 * a body. The header list is the flat [name, value, ...] one onResponse hooks see.
 */
import { findHeader, setHeader } from "../../proxy/headers.ts";
import type { Encoding } from "./negotiate.ts";

/** A response head's facts that decide whether it may be compressed. */
export interface ResponseFacts {
  contentType: string | undefined;
  /** The declared length; undefined when the response is sent without one. */
  contentLength: number | undefined;
}

/**
 * The facts of a response that may be compressed, or undefined for one that must pass
 * untouched: a status without a body or a partial one, an encoded body (never compressed
 * twice), or one the sender asked intermediaries not to transform.
 */
export function compressibleResponse(
  method: string,
  status: number,
  headers: readonly string[],
): ResponseFacts | undefined {
  if (method === "HEAD" || status === 204 || status === 304 || status === 206 || status < 200) {
    return undefined;
  }
  let contentType: string | undefined;
  let contentLength: number | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase();
    const value = headers[i + 1]!;
    if (name === "content-type") contentType = value;
    else if (name === "content-length") contentLength = Number(value);
    else if (name === "content-encoding") {
      if (value.trim() !== "" && value.trim().toLowerCase() !== "identity") return undefined;
    } else if (name === "content-range") return undefined;
    else if (name === "cache-control" && /(?:^|,)\s*no-transform\s*(?:,|$)/i.test(value)) {
      return undefined;
    }
  }
  return { contentType, contentLength };
}

/** Adds `Accept-Encoding` to the response's `Vary`, merged with what is there. */
export function addVaryAcceptEncoding(headers: string[]): void {
  let first = -1;
  for (let at = findHeader(headers, "vary"); at !== -1; at = findHeader(headers, "vary", at + 2)) {
    const tokens = headers[at + 1]!.split(",").map((token) => token.trim().toLowerCase());
    if (tokens.includes("accept-encoding") || tokens.includes("*")) return;
    if (first === -1) first = at;
  }
  if (first === -1) {
    headers.push("vary", "Accept-Encoding");
    return;
  }
  const value = headers[first + 1]!;
  headers[first + 1] = value.trim() === "" ? "Accept-Encoding" : `${value}, Accept-Encoding`;
}

/**
 * The head of a response compressed with `encoding`: the coding named, the length dropped
 * (it is sent chunked), a strong ETag made weak (the bytes differ from the upstream's, the
 * meaning does not), and `Accept-Ranges` dropped, since ranges of the compressed bytes are
 * not served.
 */
export function markCompressed(headers: string[], encoding: Encoding): void {
  setHeader(headers, "content-encoding", encoding);
  setHeader(headers, "content-length", undefined);
  setHeader(headers, "accept-ranges", undefined);
  const etag = findHeader(headers, "etag");
  if (etag !== -1 && headers[etag + 1]!.startsWith('"'))
    headers[etag + 1] = `W/${headers[etag + 1]}`;
}
