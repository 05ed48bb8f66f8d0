/**
 * @module plugins/jwt/credentials
 * Where a request carries its token (a header, then optionally a query argument or a
 * cookie) and how the token is taken out of the request sent upstream.
 */
import type { RequestContext } from "../../pipeline/context.ts";

/** A token found in a request, and where, so it can be removed from the upstream request. */
export interface FoundToken {
  token: string;
  from: "header" | "query" | "cookie";
}

export interface TokenPlaces {
  header: string;
  query?: string | undefined;
  cookie?: string | undefined;
}

/** What a token may not contain: JavaScript's `\s` (the characters `\S` excludes). */
const whitespace = /\s/;
const space = 0x20;
/** "bearer", as char codes; an ASCII letter's code OR 0x20 is its lower case. */
const bearerCodes = [0x62, 0x65, 0x61, 0x72, 0x65, 0x72];

/**
 * The token of an `Authorization: Bearer <token>` value: the scheme in any case, one or more
 * spaces, the token (no whitespace), then only spaces; undefined for anything else. The
 * same answer as `/^Bearer +(\S+) *$/i`, without running that expression over the token
 * twice (a JWT is hundreds of characters; a test checks the two agree).
 */
export function bearerToken(value: string): string | undefined {
  if (value.length < 8 || value.charCodeAt(6) !== space) return undefined;
  for (let i = 0; i < 6; i++) {
    if ((value.charCodeAt(i) | 0x20) !== bearerCodes[i]) return undefined;
  }
  let start = 7;
  while (value.charCodeAt(start) === space) start++;
  let end = value.length;
  while (end > start && value.charCodeAt(end - 1) === space) end--;
  if (end === start) return undefined;
  const token = start === 7 && end === value.length ? value.slice(7) : value.slice(start, end);
  return whitespace.test(token) ? undefined : token;
}

/**
 * Reads the token from the first place that has one. In `Authorization` only the Bearer
 * scheme counts (a `Basic` header is another plugin's business); a custom header may hold
 * `Bearer <token>` or the bare token.
 */
export function tokenReader(places: TokenPlaces): (ctx: RequestContext) => FoundToken | undefined {
  const header = places.header.toLowerCase();
  const bareAllowed = header !== "authorization";
  const { query, cookie } = places;
  return (ctx) => {
    const value = ctx.req.headers[header];
    if (typeof value === "string") {
      const token = bearerToken(value);
      if (token !== undefined) return { token, from: "header" };
      if (bareAllowed && value !== "") return { token: value.trim(), from: "header" };
    }
    if (query !== undefined) {
      const url = ctx.req.url!;
      const at = url.indexOf("?");
      const token = at === -1 ? null : new URLSearchParams(url.slice(at + 1)).get(query);
      if (token) {
        ctx.markQueryCredential(query);
        return { token, from: "query" };
      }
    }
    if (cookie !== undefined) {
      const token = cookieValue(ctx.req.headers.cookie, cookie);
      if (token) return { token, from: "cookie" };
    }
    return undefined;
  };
}

/** Removes the token from where it was found, in the request sent upstream. */
export function hideToken(ctx: RequestContext, found: FoundToken, places: TokenPlaces): void {
  if (found.from === "header") ctx.setUpstreamHeader(places.header, undefined);
  else if (found.from === "query") ctx.removeQueryParam(places.query!);
  else {
    const rest = otherCookies(ctx.req.headers.cookie, places.cookie!);
    ctx.setUpstreamHeader("cookie", rest === "" ? undefined : rest);
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(";")) {
    const at = pair.indexOf("=");
    if (at !== -1 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return undefined;
}

function otherCookies(header: string | undefined, name: string): string {
  return (header ?? "")
    .split(";")
    .filter((pair) => {
      const at = pair.indexOf("=");
      return at === -1 ? pair.trim() !== "" : pair.slice(0, at).trim() !== name;
    })
    .map((pair) => pair.trim())
    .join("; ");
}
