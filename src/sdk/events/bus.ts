/**
 * @module sdk/events/bus
 * The bus `events.connect()` returns, over either transport: publishes with an id and the
 * call context's headers, creates or checks each subject's stream the first time it is
 * used (and again when a publish finds it gone), starts subscriptions, and relays the
 * outboxes of its stores.
 */
import { randomUUID } from "node:crypto";
import { onShutdownSignal, withinGrace } from "../shutdown-signals.ts";
import type { DeadLetter } from "./dead-letter.ts";
import { contextHeaders } from "./event-context.ts";
import { publishedTotal } from "./event-metrics.ts";
import type {
  EventBus,
  EventHandler,
  PublishOptions,
  PublishResult,
  SubscribeOptions,
  Subscription,
} from "./event-types.ts";
import { EventsError } from "./events-error.ts";
import { type ResolvedEventsOptions, resolveSubscribeOptions } from "./events-options.ts";
import { checkSubject, streamFor } from "./subjects.ts";
import { startSubscription } from "./subscription.ts";
import {
  type OutgoingMessage,
  type PublishReceipt,
  StreamMissingError,
  type Transport,
} from "./transport.ts";

const encoder = new TextEncoder();

/** A connected bus. */
export class Bus implements EventBus {
  readonly #transport: Transport;
  readonly #options: ResolvedEventsOptions;
  /** Streams created or checked, by name (a failed check is forgotten, to be tried again). */
  readonly #streams = new Map<string, Promise<void>>();
  readonly #subscriptions = new Set<Subscription>();
  readonly #closers: (() => Promise<void>)[] = [];
  readonly #stopClosingOnSignal: () => void;
  #closed = false;

  constructor(transport: Transport, options: ResolvedEventsOptions) {
    this.#transport = transport;
    this.#options = options;
    // After the subscriptions finished (`finish`), before the stores close: the relay's last
    // round still reads them.
    this.#stopClosingOnSignal = onShutdownSignal("disconnect", () => this.close());
  }

  get transport(): "jetstream" | "embedded" {
    return this.#transport.kind;
  }

  get options(): ResolvedEventsOptions {
    return this.#options;
  }

  /** Creates or checks the declared streams. */
  async start(): Promise<void> {
    await Promise.all(this.#options.streams.map((stream) => this.#ensure(stream.subjects[0]!)));
  }

  /** Runs `close` (before the transport closes) when the bus closes. */
  onClose(close: () => Promise<void>): void {
    this.#closers.push(close);
  }

  async publish(
    subject: string,
    data: unknown,
    options: PublishOptions = {},
  ): Promise<PublishResult> {
    checkSubject(subject);
    const id = options.id ?? randomUUID();
    if (typeof id !== "string" || id === "")
      throw new EventsError("GATEHOUSE_EVENTS_INVALID", "publish: id must be a non-empty string");
    const json = jsonOf(data, subject);
    const receipt = await this.publishMessage({
      id,
      subject,
      data: encoder.encode(json),
      headers: contextHeaders(options.headers),
    });
    return { id, duplicate: receipt.duplicate };
  }

  /** Publishes a message whose headers are final (the outbox relay's rows, dead letters). */
  async publishMessage(message: OutgoingMessage): Promise<PublishReceipt> {
    if (this.#closed) throw new EventsError("GATEHOUSE_EVENTS_UNAVAILABLE", "the bus is closed");
    await this.#ensure(message.subject);
    let receipt: PublishReceipt;
    try {
      receipt = await this.#transport.publish(message);
    } catch (error) {
      if (!(error instanceof StreamMissingError)) throw error;
      // The broker lost the stream (NATS restarted without its store, or it was deleted):
      // what this bus remembers of it is stale. Create it again and publish once more.
      this.#streams.delete(streamFor(message.subject, this.#options.streams).name);
      await this.#ensure(message.subject);
      receipt = await this.#transport.publish(message);
    }
    if (!receipt.duplicate) publishedTotal.inc({ subject: message.subject });
    return receipt;
  }

  subscribe<T = unknown>(options: SubscribeOptions, handler: EventHandler<T>): Subscription {
    if (this.#closed) throw new EventsError("GATEHOUSE_EVENTS_UNAVAILABLE", "the bus is closed");
    const resolved = resolveSubscribeOptions(options, this.#options);
    const subscription = startSubscription(
      {
        transport: this.#transport,
        streamOf: async (subject, again) => {
          if (again) this.#streams.delete(streamFor(subject, this.#options.streams).name);
          await this.#ensure(subject);
          return streamFor(subject, this.#options.streams).name;
        },
        publishDeadLetter: async (subject: string, letter: DeadLetter, id: string) => {
          await this.publishMessage({
            id,
            subject,
            data: encoder.encode(JSON.stringify(letter)),
            headers: letter.event.headers,
          });
        },
      },
      resolved,
      handler,
    );
    // On SIGTERM/SIGINT: no more events, and the running handlers end before the stores close.
    const stopOnSignal = onShutdownSignal("finish", () => withinGrace(subscription.close()));
    const handle: Subscription = {
      ready: subscription.ready,
      close: async () => {
        stopOnSignal();
        this.#subscriptions.delete(handle);
        await subscription.close();
      },
    };
    this.#subscriptions.add(handle);
    return handle;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopClosingOnSignal();
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    this.#subscriptions.clear();
    for (const close of this.#closers) await close();
    await this.#transport.close();
  }

  /** Creates or checks the stream that stores `subject` (once per stream and bus). */
  #ensure(subject: string): Promise<void> {
    const stream = streamFor(subject, this.#options.streams);
    let ensured = this.#streams.get(stream.name);
    if (!ensured) {
      ensured = this.#transport.ensureStream(stream, this.#options.duplicateWindowMs);
      this.#streams.set(stream.name, ensured);
      ensured.catch(() => this.#streams.delete(stream.name));
    }
    return ensured;
  }
}

/** The JSON text of an event's data; throws `GATEHOUSE_EVENTS_INVALID` for what JSON cannot carry. */
export function jsonOf(data: unknown, subject: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw new EventsError("GATEHOUSE_EVENTS_INVALID", `${subject}: data is not JSON`, {
      cause: error,
    });
  }
  if (json === undefined)
    throw new EventsError(
      "GATEHOUSE_EVENTS_INVALID",
      `${subject}: data is not JSON (${typeof data})`,
    );
  return json;
}
