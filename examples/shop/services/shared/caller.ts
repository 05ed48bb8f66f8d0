/**
 * @module examples/shop/services/shared/caller
 * Who is calling: the gateway's `jwt` plugin verifies the token and puts its `user_id`
 * claim in the `x-user-id` metadata (and strips any `x-user-id` a client sent), so a
 * service trusts that metadata and nothing in the request body.
 */
import type { Metadata } from "@grpc/grpc-js";
import { unauthenticated } from "./errors.ts";

/** The metadata the gateway sets to the caller's user id. */
export const userIdMetadata = "x-user-id";

/** The caller's user id, or undefined for an anonymous call. */
export function callerIdOrNone(call: { metadata: Metadata }): string | undefined {
  const value = call.metadata.get(userIdMetadata)[0];
  return value === undefined || value === "" ? undefined : String(value);
}

/** The caller's user id; UNAUTHENTICATED without one. */
export function callerId(call: { metadata: Metadata }): string {
  const id = callerIdOrNone(call);
  if (id === undefined) throw unauthenticated("this call needs a signed-in user");
  return id;
}
