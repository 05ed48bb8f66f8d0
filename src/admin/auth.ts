/**
 * @module admin/auth
 * Who is calling the admin API. With keys configured, a request must carry one
 * (`Authorization: Bearer <key>` or `X-Admin-Key: <key>`) and acts as that key's id. With
 * none — allowed only on a loopback listener — anyone who can connect is
 * `anonymous-loopback`. Keys are compared by their SHA-256, so a key written as a digest
 * in the config works the same as one written out.
 */
import type { IncomingMessage } from "node:http";
import { keyDigest, writtenKeyDigest } from "../config/key-digest.ts";
import type { GatehouseConfig } from "../config/schema/index.ts";

type AdminSettings = NonNullable<GatehouseConfig["gateway"]["admin"]>;

/** The caller of one admin request. */
export interface AdminCaller {
  /** The key's id, or `anonymous-loopback`. */
  actor: string;
  readOnly: boolean;
}

/** A function that names the caller of a request, or returns undefined when it has no valid key. */
export function createAdminAuth(
  keys: AdminSettings["keys"],
): (req: IncomingMessage) => AdminCaller | undefined {
  if (keys.length === 0) return () => ({ actor: "anonymous-loopback", readOnly: false });
  const byDigest = new Map<string, AdminCaller>();
  for (const { id, key, readOnly } of keys) {
    byDigest.set(writtenKeyDigest(key).digest, { actor: id, readOnly });
  }
  return (req) => {
    const presented = presentedKey(req);
    return presented === undefined ? undefined : byDigest.get(keyDigest(presented));
  };
}

function presentedKey(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1];
  }
  const header = req.headers["x-admin-key"];
  return typeof header === "string" && header !== "" ? header : undefined;
}
