/**
 * @module sdk/store/outbox-message
 * What `tx.publish()` writes: the event checked (a subject a bus can publish to, JSON data),
 * given an id when it has none, and given the current call's `traceparent` and
 * `x-request-id` so that whoever handles it joins the trace of the request that caused it.
 */
import { randomUUID } from "node:crypto";
import { defaultTextMapSetter } from "@opentelemetry/api";
import { currentCallContext } from "../call-context.ts";
import { propagator } from "../telemetry.ts";
import { quoteIdentifier } from "./migrations.ts";
import type { OutboxMessage, PublishOptions, Queryable } from "./store.ts";

/** Tokens of a subject one publishes to: no wildcards, no spaces, none empty. */
const subjectPattern = /^[^\s.*>]+(\.[^\s.*>]+)*$/;

/**
 * Writes the event to `<schema>.outbox` through `queryable` (a transaction); a TypeError,
 * before anything is written, when it cannot be published. Resolves with the row's message.
 */
export async function writeOutbox(
  queryable: Queryable,
  schema: string,
  subject: string,
  data: unknown,
  options: PublishOptions = {},
): Promise<OutboxMessage> {
  if (typeof subject !== "string" || !subjectPattern.test(subject)) {
    throw new TypeError(
      `publish(${JSON.stringify(subject)}): a subject is dot-separated tokens without spaces or wildcards, e.g. "orders.created"`,
    );
  }
  const id = options.id ?? randomUUID();
  if (typeof id !== "string" || id === "") {
    throw new TypeError(`publish(${JSON.stringify(subject)}): id must be a non-empty string`);
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw new TypeError(`publish(${JSON.stringify(subject)}): data must be JSON`, { cause: error });
  }
  if (json === undefined) {
    throw new TypeError(
      `publish(${JSON.stringify(subject)}): data must be JSON, not ${typeof data}`,
    );
  }
  const headers = { ...callHeaders(), ...options.headers };
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== "string") {
      throw new TypeError(`publish(${JSON.stringify(subject)}): header ${name} must be a string`);
    }
  }
  await queryable.query(
    `insert into ${quoteIdentifier(schema)}.outbox (id, subject, data, headers) values ($1, $2, $3::jsonb, $4::jsonb)`,
    [id, subject, json, JSON.stringify(headers)],
  );
  return { id, subject, data, headers };
}

/** `traceparent` (and `tracestate`) and `x-request-id` of the request being handled, if any. */
function callHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const context = currentCallContext();
  if (!context) return headers;
  if (context.trace) propagator.inject(context.trace, headers, defaultTextMapSetter);
  if (context.requestId) headers["x-request-id"] = context.requestId;
  return headers;
}
