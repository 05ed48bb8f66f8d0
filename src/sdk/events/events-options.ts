/**
 * @module sdk/events/events-options
 * `events.connect()` options with their defaults applied and their durations read once, so
 * a bad option fails when the bus is connected rather than on the first delivery.
 */
import { parseDuration } from "../../config/units.ts";
import type { Store } from "../store/store.ts";
import type { EventsOptions, StreamDeclaration, SubscribeOptions } from "./event-types.ts";
import { EventsError } from "./events-error.ts";
import { checkDurable, checkFilter } from "./subjects.ts";

/** How deliveries are retried: the same shape for the bus and each subscription. */
export interface DeliveryPolicy {
  maxDeliver: number;
  /** Delay before redelivery after the n-th failed delivery is `backoffMs[min(n, len) - 1]`. */
  backoffMs: number[];
  ackWaitMs: number;
}

/** Connect options resolved. */
export interface ResolvedEventsOptions extends DeliveryPolicy {
  streams: StreamDeclaration[];
  duplicateWindowMs: number;
  outboxRetentionMs: number;
  /** Undefined: every store opened in the process. */
  stores: Store[] | undefined;
}

/** Subscribe options resolved against the bus's. */
export interface ResolvedSubscribeOptions extends DeliveryPolicy {
  durable: string;
  subject: string;
  db: Store | undefined;
  concurrency: number;
  inboxRetentionMs: number;
}

/** Applies the defaults; throws `GATEHOUSE_EVENTS_INVALID` naming the first bad option. */
export function resolveEventsOptions(options: EventsOptions = {}): ResolvedEventsOptions {
  const streams = (options.streams ?? []).map((stream) => {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(stream.name ?? ""))
      invalid(`streams: name ${JSON.stringify(stream.name)}: letters, digits, '_' or '-'`);
    if (!Array.isArray(stream.subjects) || stream.subjects.length === 0)
      invalid(`streams: ${stream.name} needs at least one subject`);
    for (const subject of stream.subjects) checkFilter(subject);
    return { name: stream.name, subjects: [...stream.subjects] };
  });
  return {
    streams,
    ...resolvePolicy(options, {
      maxDeliver: 5,
      backoffMs: [1000, 5000, 30_000],
      ackWaitMs: 30_000,
    }),
    duplicateWindowMs: duration("duplicateWindow", options.duplicateWindow ?? "2m"),
    outboxRetentionMs: duration("outboxRetention", options.outboxRetention ?? "1h"),
    stores: options.stores,
  };
}

/** A subscription's options, its delivery policy defaulting to the bus's. */
export function resolveSubscribeOptions(
  options: SubscribeOptions,
  bus: DeliveryPolicy,
): ResolvedSubscribeOptions {
  checkDurable(options.durable);
  checkFilter(options.subject);
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    invalid(`concurrency ${concurrency}: a whole number from 1`);
  return {
    durable: options.durable,
    subject: options.subject,
    db: options.db,
    concurrency,
    inboxRetentionMs: duration("inboxRetention", options.inboxRetention ?? "7d"),
    ...resolvePolicy(options, bus),
  };
}

function resolvePolicy(
  options: { maxDeliver?: number; backoff?: string[]; ackWait?: string },
  fallback: DeliveryPolicy,
): DeliveryPolicy {
  const maxDeliver = options.maxDeliver ?? fallback.maxDeliver;
  if (!Number.isInteger(maxDeliver) || maxDeliver < 1)
    invalid(`maxDeliver ${maxDeliver}: a whole number from 1`);
  const backoffMs = options.backoff?.map((text) => duration("backoff", text)) ?? fallback.backoffMs;
  if (backoffMs.length === 0) invalid("backoff: at least one duration");
  const ackWaitMs =
    options.ackWait === undefined ? fallback.ackWaitMs : duration("ackWait", options.ackWait);
  if (ackWaitMs < 100) invalid(`ackWait ${options.ackWait}: at least 100ms`);
  return { maxDeliver, backoffMs, ackWaitMs };
}

/** The delay before redelivering an event whose `deliveryCount`-th delivery failed. */
export function backoffDelay(policy: DeliveryPolicy, deliveryCount: number): number {
  const at = Math.min(Math.max(deliveryCount, 1), policy.backoffMs.length) - 1;
  return policy.backoffMs[at]!;
}

function duration(name: string, text: string): number {
  const ms = typeof text === "string" ? parseDuration(text) : undefined;
  if (ms === undefined)
    invalid(`${name} ${JSON.stringify(text)}: a duration such as 500ms, 5s, 2m`);
  return ms;
}

function invalid(message: string): never {
  throw new EventsError("GATEHOUSE_EVENTS_INVALID", message);
}
