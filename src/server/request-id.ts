/**
 * @module server/request-id
 * Request ids: the client's `X-Request-Id` when it is well-formed, else a new one. New ids
 * have the UUID shape users expect, but are a random per-process prefix and a counter:
 * unique across processes and nodes, and far cheaper per request than a random UUID.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";

const validRequestId = /^[A-Za-z0-9._:-]{1,128}$/;
const random = randomBytes(10).toString("hex");
// xxxxxxxx-xxxx-4xxx-{8..b}xxx- then 12 hex digits of counter.
const prefix = `${random.slice(0, 8)}-${random.slice(8, 12)}-4${random.slice(12, 15)}-${((Number.parseInt(random[15]!, 16) & 3) | 8).toString(16)}${random.slice(16, 19)}-`;
const counterLimit = 16 ** 12;
let counter = 0;

/** A new request id, e.g. `9f1c0e4a-7b2d-43c5-a3c5-00000000002a`. */
export function newRequestId(): string {
  counter = (counter + 1) % counterLimit;
  return prefix + counter.toString(16).padStart(12, "0");
}

/** The request id to use: the client's when it is well-formed, else a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && validRequestId.test(given) ? given : newRequestId();
}
