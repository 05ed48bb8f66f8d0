/**
 * @module observability/tracing/ids
 * Trace and span ids: random bytes drawn from a pooled buffer and written as lowercase
 * hex, the form W3C trace context, B3 and OTLP/JSON all use. One `randomFillSync` serves
 * a few hundred ids, so an id costs a slice of hex rather than a system call.
 */
import { randomFillSync } from "node:crypto";

const pool = Buffer.allocUnsafe(4096);
let next = pool.length;

function randomHex(bytes: number): string {
  if (next + bytes > pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const id = pool.toString("hex", next, next + bytes);
  next += bytes;
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
