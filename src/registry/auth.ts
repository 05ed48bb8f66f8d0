/**
 * @module registry/auth
 * Who is calling the registry API. Its own keys (`gateway.registry.keys`) and the admin
 * API's both work, so a service can be given a key that registers instances and cannot
 * edit routes. A key is sent as `Authorization: Bearer <key>`, `X-Registry-Key` or
 * `X-Admin-Key`, and compared by its SHA-256 (as admin keys are). With no key of either
 * kind, only loopback clients may call, without one.
 */
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import { keyDigest, writtenKeyDigest } from "../config/key-digest.ts";
import { GatehouseError } from "../errors.ts";

/** A key as the config gives it (registry and admin keys alike). */
export interface WrittenKey {
  id: string;
  key: string;
  readOnly: boolean;
}

/** The caller of one registry request. */
export interface RegistryCaller {
  /** The key's id, or `anonymous-loopback`. */
  actor: string;
  /** May list and watch, not register or deregister. */
  readOnly: boolean;
}

/**
 * A function that names the caller of a request, or throws the refusal: 401 without a
 * valid key, or, with no keys at all, for a client that is not on loopback.
 */
export function createRegistryAuth(
  keys: readonly WrittenKey[],
): (req: IncomingMessage) => RegistryCaller {
  if (keys.length === 0)
    return (req) => {
      if (isLoopbackAddress(req.socket.remoteAddress))
        return { actor: "anonymous-loopback", readOnly: false };
      throw new GatehouseError(
        "GATEHOUSE_ADMIN_UNAUTHORIZED",
        "this registry has no keys, so only clients on this machine may use it (set gateway.registry.keys)",
      );
    };
  const byDigest = new Map<string, RegistryCaller>();
  for (const { id, key, readOnly } of keys)
    byDigest.set(writtenKeyDigest(key).digest, { actor: id, readOnly });
  return (req) => {
    const presented = presentedKey(req);
    const caller = presented === undefined ? undefined : byDigest.get(keyDigest(presented));
    if (caller) return caller;
    throw new GatehouseError(
      "GATEHOUSE_ADMIN_UNAUTHORIZED",
      presented === undefined
        ? "the registry API needs a key (Authorization: Bearer <key>)"
        : "the key matches none of the registry's or the admin API's keys",
      { headers: { "www-authenticate": 'Bearer realm="gatehouse-registry"' } },
    );
  };
}

function presentedKey(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  if (authorization) return /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  for (const name of ["x-registry-key", "x-admin-key"]) {
    const header = req.headers[name];
    if (typeof header === "string" && header !== "") return header;
  }
  return undefined;
}

/** Whether a peer address is this machine's loopback. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith("127.");
  return address === "::1";
}
