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

const bearer = /^Bearer +(\S+) *$/i;

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
      const match = bearer.exec(value);
      if (match) return { token: match[1]!, from: "header" };
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
