/**
 * @module sdk/events/transport
 * What a bus needs from the broker under it: streams, publishing with a dedup id, and
 * durable consumers with explicit ack, nak with a delay and term. NATS JetStream
 * (jetstream-transport.ts) and the in-process broker (embedded-transport.ts) implement it;
 * everything above (inbox, dead letters, tracing, metrics, outbox relay) is shared.
 */
import type { StreamDeclaration } from "./event-types.ts";
import { EventsError } from "./events-error.ts";

/**
 * A publish the broker refused because no stream stores its subject (the broker lost its
 * streams, or one was deleted): the bus creates the stream again and publishes once more.
 */
export class StreamMissingError extends EventsError {
  constructor(message: string, options?: ErrorOptions) {
    super("GATEHOUSE_EVENTS_UNAVAILABLE", message, options);
  }
}

/** An event on its way to the broker. */
export interface OutgoingMessage {
  id: string;
  subject: string;
  /** The JSON of the event's data. */
  data: Uint8Array;
  headers: Record<string, string>;
}

/** What the broker did with a publish. */
export interface PublishReceipt {
  /** The broker already held an event with this id (within the duplicate window). */
  duplicate: boolean;
  /**
   * Embedded transport only: resolves once every durable consumer of the process whose
   * subject matches has acked or terminated the event (at once when none matches).
   */
  settled?: Promise<void>;
}

/** One delivery of a stored message to a durable consumer. */
export interface IncomingMessage {
  subject: string;
  data: Uint8Array;
  headers: Record<string, string>;
  /** Its sequence in the stream (a replayed event gets a new one). */
  seq: number;
  deliveryCount: number;
  ack(): void;
  /** Redeliver after `delayMs`. */
  nak(delayMs: number): void;
  /** Never deliver it again to this consumer. */
  term(reason?: string): void;
  /** Still at work on it: restart the ack wait. */
  working(): void;
}

/** A durable consumer as the bus asks for it. */
export interface ConsumerSpec {
  stream: string;
  durable: string;
  /** The subject filter. */
  subject: string;
  ackWaitMs: number;
  /** Deliveries handed out at once without a verdict. */
  concurrency: number;
  /** Creates the stream again (the broker lost it); the consumer is then made again too. */
  restoreStream(): Promise<void>;
}

/** A running consumer. */
export interface TransportConsumer {
  /** Messages stored for it and not yet settled (not delivered yet, or delivered and unacked). */
  pending(): Promise<number>;
  /** Stops asking for messages; resolves once no handler started by it is still running. */
  stop(): Promise<void>;
}

/** A broker connection. */
export interface Transport {
  readonly kind: "jetstream" | "embedded";
  /** Creates the stream, or checks it and adds missing subjects. */
  ensureStream(stream: StreamDeclaration, duplicateWindowMs: number): Promise<void>;
  /** Throws `StreamMissingError` when no stream stores the subject. */
  publish(message: OutgoingMessage): Promise<PublishReceipt>;
  /**
   * Creates or updates the durable consumer and delivers to `onMessage`, at most
   * `spec.concurrency` at a time; `onMessage` settles each message (never throws).
   */
  consume(
    spec: ConsumerSpec,
    onMessage: (message: IncomingMessage) => Promise<void>,
  ): Promise<TransportConsumer>;
  close(): Promise<void>;
}
