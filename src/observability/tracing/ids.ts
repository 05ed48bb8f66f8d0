/**
 * @module observability/tracing/ids
 * Trace and span ids: random bytes drawn from a pooled buffer and written as lowercase
 * hex, the form W3C trace context, B3 and OTLP/JSON all use. One `randomFillSync` and one
 * hex conversion serve a few hundred ids, so an id costs a substring of that hex rather
 * than a system call or a conversion of its own.
 */
import { randomFillSync } from "node:crypto";

const pool = Buffer.allocUnsafe(4096);
let hex = "";
let next = 0;

function randomHex(bytes: number): string {
  const digits = bytes * 2;
  if (next + digits > hex.length) {
    randomFillSync(pool);
    hex = pool.toString("hex");
    next = 0;
  }
  const id = hex.slice(next, next + digits);
  next += digits;
  return id;
}

const invalidTraceId = "0".repeat(32);
const invalidSpanId = "0".repeat(16);

/** A new 16-byte trace id (never the all-zero one, which means "no trace"). */
export function newTraceId(): string {
  let id = randomHex(16);
  while (id === invalidTraceId) id = randomHex(16);
  return id;
}

/** A new 8-byte span id (never the all-zero one). */
export function newSpanId(): string {
  let id = randomHex(8);
  while (id === invalidSpanId) id = randomHex(8);
  return id;
}
