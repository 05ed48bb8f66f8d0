/**
 * @module sdk/events/event-types
 * The shapes a service sees when it uses events: the bus it connects, the options it gives,
 * the event its handler receives and the subscription it gets back. Both transports (NATS
 * JetStream and the embedded one) implement the same bus.
 */
import type { Store, Transaction } from "../store/store.ts";

/** A stream declared up front: its name and the subjects it stores (wildcards allowed). */
export interface StreamDeclaration {
  name: string;
  subjects: string[];
}

/** What `events.connect()` accepts; durations are written as in the config (`500ms`, `5s`, `2m`). */
export interface EventsOptions {
  /** Streams to create or check on connect; other subjects get one stream per first token. */
  streams?: StreamDeclaration[];
  /** Deliveries of an event before it is dead-lettered (default 5). */
  maxDeliver?: number;
  /** Delay before each redelivery after a failure; the last repeats (default `["1s", "5s", "30s"]`). */
  backoff?: string[];
  /** How long a delivery may go unsettled before it is redelivered (default `30s`). */
  ackWait?: string;
  /** Window in which a second publish of the same id is dropped (default `2m`). */
  duplicateWindow?: string;
  /** Stores whose outboxes this bus relays (default: every store opened in the process). */
  stores?: Store[];
  /** How long a published outbox row is kept before the relay deletes it (default `1h`). */
  outboxRetention?: string;
}

/** What `bus.publish()` accepts besides subject and data. */
export interface PublishOptions {
  /** The event's id and dedup key (default: a random UUID). */
  id?: string;
  /** Extra headers; `traceparent` and `x-request-id` come from the call context unless given. */
  headers?: Record<string, string>;
}

/** What a publish did: `duplicate` when the broker already had an event with this id. */
export interface PublishResult {
  id: string;
  duplicate: boolean;
}

/** An event as a handler receives it. */
export interface DeliveredEvent<T = unknown> {
  id: string;
  subject: string;
  data: T;
  /** The message headers (first value of each), `traceparent` and `x-request-id` among them. */
  headers: Record<string, string>;
  /** 1 on the first delivery, 2 on the first redelivery, and so on. */
  deliveryCount: number;
  /**
   * Marks the event as poison: when the handler returns, its transaction (if any) is rolled
   * back, the event is never redelivered and goes to the dead-letter subject with `reason`.
   */
  term(reason?: string): void;
}

/** A subscriber's handler; with `db`, `tx` is the transaction its inbox row is written in. */
export type EventHandler<T = unknown> = (
  event: DeliveredEvent<T>,
  tx?: Transaction,
) => Promise<void>;

/** What `bus.subscribe()` accepts. */
export interface SubscribeOptions {
  /** The durable consumer's name: deliveries resume where it left off across restarts. */
  durable: string;
  /** The subjects it takes (`orders.*`, `orders.>`): all in one stream. */
  subject: string;
  /** With a store: each event is applied once per id (the inbox), in one transaction. */
  db?: Store;
  maxDeliver?: number;
  backoff?: string[];
  ackWait?: string;
  /** Events handled at once (default 1: in order, but for redeliveries). */
  concurrency?: number;
  /**
   * With `db`: how long an applied event's inbox row is kept (default `7d`); a duplicate
   * arriving after that is applied again.
   */
  inboxRetention?: string;
}

/** A running subscription. */
export interface Subscription {
  /** Resolves once the durable consumer exists and deliveries flow; rejects if it cannot. */
  readonly ready: Promise<void>;
  /** Stops taking events and waits for the handlers running now. */
  close(): Promise<void>;
}

/** A connection to the events transport. */
export interface EventBus {
  /** `"jetstream"` with a URL, `"embedded"` without. */
  readonly transport: "jetstream" | "embedded";
  publish(subject: string, data: unknown, options?: PublishOptions): Promise<PublishResult>;
  subscribe<T = unknown>(options: SubscribeOptions, handler: EventHandler<T>): Subscription;
  /** Stops the subscriptions and the outbox relay, then closes the connection. */
  close(): Promise<void>;
}
