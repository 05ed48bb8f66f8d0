/**
 * @module plugins/rate-limit/keys
 * What a rate limit counts per: the `by` option compiled once into a function from a
 * request to its key. A part that cannot be formed for a request (`consumer` before any
 * consumer is identified, a missing header, no credential) falls back to the client IP,
 * as Kong does, so such requests are still limited, per client.
 */
import { createHash } from "node:crypto";
import type { RequestContext } from "../../pipeline/context.ts";

/** One thing a limit can count per. */
export type KeyPart = "ip" | "consumer" | "credential" | "route" | "service" | { header: string };

type PartOf = (ctx: RequestContext) => string;

const ipPart: PartOf = (ctx) => `ip:${ctx.clientAddress}`;

/**
 * The credential the client authenticated with: its `Authorization` header (Basic, Bearer
 * or any other scheme), kept as a digest so no secret ends up in a key or in Redis.
 */
function credentialPart(ctx: RequestContext): string {
  const authorization = ctx.headers.authorization;
  if (authorization === undefined) return ipPart(ctx);
  return `credential:${createHash("sha256").update(authorization).digest("base64url").slice(0, 22)}`;
}

function compilePart(part: KeyPart): PartOf {
  if (typeof part === "object") {
    const name = part.header.toLowerCase();
    const label = `header:${name}=`;
    return (ctx) => {
      const value = ctx.headers[name];
      if (value === undefined) return ipPart(ctx);
      return label + (typeof value === "string" ? value : value.join(","));
    };
  }
  switch (part) {
    case "ip":
      return ipPart;
    case "consumer":
      return (ctx) => (ctx.consumer ? `consumer:${ctx.consumer.name}` : ipPart(ctx));
    case "credential":
      return credentialPart;
    case "route":
      return (ctx) => `route:${ctx.route}`;
    case "service":
      return (ctx) => `service:${ctx.service}`;
  }
}

/** The key function for `by`: one part, or several joined so each combination counts apart. */
export function compileKey(by: KeyPart | readonly KeyPart[]): (ctx: RequestContext) => string {
  const parts = (Array.isArray(by) ? by : [by]).map(compilePart);
  if (parts.length === 1) return parts[0]!;
  return (ctx) => {
    let key = parts[0]!(ctx);
    for (let i = 1; i < parts.length; i++) key += `|${parts[i]!(ctx)}`;
    return key;
  };
}
