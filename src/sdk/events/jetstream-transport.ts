/**
 * @module sdk/events/jetstream-transport
 * The NATS JetStream transport: file-backed streams with a duplicate window, publishes
 * acknowledged by the stream (with `Nats-Msg-Id` for dedup), and durable pull consumers
 * with explicit ack. It keeps to what nats-server 2.9 supports: one filter subject per
 * consumer, the consumer-create API of 2.9, `+TERM` without a reason, no per-message TTL,
 * no consumer pause or priority groups; retries and dead letters are the bus's, not the
 * server's.
 */

import { setTimeout as sleep } from "node:timers/promises";
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { type NatsConnection, nanos, headers as natsHeaders } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { DeliveryQueue } from "./delivery-queue.ts";
import type { StreamDeclaration } from "./event-types.ts";
import { EventsError } from "./events-error.ts";
import {
  type ConsumerSpec,
  type IncomingMessage,
  type OutgoingMessage,
  type PublishReceipt,
  StreamMissingError,
  type Transport,
  type TransportConsumer,
} from "./transport.ts";

/** How long a publish waits for the stream's acknowledgement. */
const publishTimeoutMs = 5000;
/**
 * How long one pull waits for messages: also how long stopping a subscription may wait for
 * the pull in progress (the least the client library allows).
 */
const pullExpiresMs = 1000;

/** Connects to NATS at `url` (several comma-separated) and checks that JetStream is enabled there. */
export async function connectJetStream(url: string): Promise<Transport> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: url.split(",").map((server) => server.trim()),
      name: "gatehouse-sdk-events",
      // A bus outlives a NATS restart: reconnect for as long as it is open.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
  } catch (error) {
    throw new EventsError("GATEHOUSE_EVENTS_UNAVAILABLE", `cannot connect to NATS at ${url}`, {
      cause: error,
    });
  }
  try {
    const jsm = await jetstreamManager(nc);
    return new JetStreamTransport(nc, jsm, jetstream(nc));
  } catch (error) {
    await nc.close();
    throw new EventsError(
      "GATEHOUSE_EVENTS_UNAVAILABLE",
      `NATS at ${url} has no JetStream (start nats-server with -js)`,
      { cause: error },
    );
  }
}

class JetStreamTransport implements Transport {
  readonly kind = "jetstream";
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #js: JetStreamClient;

  constructor(nc: NatsConnection, jsm: JetStreamManager, js: JetStreamClient) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = js;
  }

  async ensureStream(stream: StreamDeclaration, duplicateWindowMs: number): Promise<void> {
    try {
      const info = await this.#jsm.streams.info(stream.name).catch((error: unknown) => {
        if (notFound(error, JetStreamApiCodes.StreamNotFound)) return undefined;
        throw error;
      });
      if (!info) {
        await this.#jsm.streams.add({
          name: stream.name,
          subjects: stream.subjects,
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          duplicate_window: nanos(duplicateWindowMs),
        });
        return;
      }
      const missing = stream.subjects.filter((subject) => !info.config.subjects?.includes(subject));
      if (missing.length > 0) {
        await this.#jsm.streams.update(stream.name, {
          subjects: [...(info.config.subjects ?? []), ...missing],
        });
      }
    } catch (error) {
      throw brokerError(`stream ${stream.name}`, error);
    }
  }

  async publish(message: OutgoingMessage): Promise<PublishReceipt> {
    const headers = natsHeaders();
    for (const [name, value] of Object.entries(message.headers)) headers.set(name, value);
    try {
      const ack = await this.#js.publish(message.subject, message.data, {
        msgID: message.id,
        headers,
        timeout: publishTimeoutMs,
      });
      return { duplicate: ack.duplicate };
    } catch (error) {
      const what = `publish ${message.subject} (id ${message.id})`;
      // No stream listens on the subject: NATS answers a JetStream publish with "no responders".
      if (noStream(error))
        throw new StreamMissingError(`${what}: no stream stores the subject`, { cause: error });
      throw brokerError(what, error);
    }
  }

  async consume(
    spec: ConsumerSpec,
    onMessage: (message: IncomingMessage) => Promise<void>,
  ): Promise<TransportConsumer> {
    await this.#ensureConsumer(spec);
    const queue = new DeliveryQueue(spec.concurrency, spec.ackWaitMs, onMessage);
    let consumer = await this.#js.consumers.get(spec.stream, spec.durable);
    // Pulls only as many messages as there are handlers free, so none waits in the process:
    // each message JetStream sends counts toward maxDeliver, and one handed back unhandled
    // when the subscription stops would count as a delivery that never reached a handler.
    // Stopping lets the pull in progress end (the server cannot be told to drop it), and what
    // it brings runs, since a handler is free for it.
    const stopping = new AbortController();
    const stopped = new Promise<number>((resolve) =>
      stopping.signal.addEventListener("abort", () => resolve(0), { once: true }),
    );
    const pulling = (async () => {
      for (let failures = 0; !stopping.signal.aborted; ) {
        const free = await Promise.race([queue.free(), stopped]);
        if (free === 0) return;
        try {
          const batch = await consumer.fetch({ max_messages: free, expires: pullExpiresMs });
          for await (const message of batch) queue.push(incoming(message));
          failures = 0;
        } catch {
          // NATS away or restarting: pull again after a pause that grows to a second.
          failures++;
          await sleep(Math.min(1000, 50 * 2 ** failures), undefined, {
            signal: stopping.signal,
          }).catch(() => {});
          // NATS came back without its store: the stream and this consumer are to be made again.
          if (!stopping.signal.aborted && (await this.#consumerLost(spec))) {
            try {
              await spec.restoreStream();
              await this.#ensureConsumer(spec);
              consumer = await this.#js.consumers.get(spec.stream, spec.durable);
            } catch {
              // Tried again after the next failed pull.
            }
          }
        }
      }
    })();
    return {
      pending: async () => {
        const info = await this.#jsm.consumers.info(spec.stream, spec.durable);
        return info.num_pending + info.num_ack_pending;
      },
      stop: async () => {
        stopping.abort();
        await pulling;
        await queue.stop();
      },
    };
  }

  /** Creates the durable consumer, or updates it to the spec. */
  async #ensureConsumer(spec: ConsumerSpec): Promise<void> {
    const config = {
      durable_name: spec.durable,
      filter_subject: spec.subject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(spec.ackWaitMs),
      // Redeliveries are counted and dead-lettered by the bus, which sees every delivery.
      max_deliver: -1,
    };
    try {
      const info = await this.#jsm.consumers.info(spec.stream, spec.durable).catch((error) => {
        if (notFound(error, JetStreamApiCodes.ConsumerNotFound)) return undefined;
        throw error;
      });
      if (!info) await this.#jsm.consumers.add(spec.stream, config);
      else if (
        info.config.filter_subject !== spec.subject ||
        info.config.ack_wait !== config.ack_wait ||
        info.config.max_deliver !== config.max_deliver
      ) {
        await this.#jsm.consumers.update(spec.stream, spec.durable, {
          filter_subject: spec.subject,
          ack_wait: config.ack_wait,
          max_deliver: config.max_deliver,
        });
      }
    } catch (error) {
      throw brokerError(`consumer ${spec.durable} on stream ${spec.stream}`, error);
    }
  }

  /** Whether NATS answers that the consumer (or its stream) does not exist. */
  async #consumerLost(spec: ConsumerSpec): Promise<boolean> {
    try {
      await this.#jsm.consumers.info(spec.stream, spec.durable);
      return false;
    } catch (error) {
      return (
        notFound(error, JetStreamApiCodes.ConsumerNotFound) ||
        notFound(error, JetStreamApiCodes.StreamNotFound)
      );
    }
  }

  async close(): Promise<void> {
    if (this.#nc.isClosed()) return;
    await this.#nc.drain().catch(() => this.#nc.close());
  }
}

/** A JetStream delivery in the transport's terms. */
function incoming(message: JsMsg): IncomingMessage {
  const headers: Record<string, string> = {};
  if (message.headers) {
    for (const [name, values] of message.headers) headers[name] = values[0] ?? "";
  }
  return {
    subject: message.subject,
    data: message.data,
    headers,
    seq: message.seq,
    deliveryCount: message.info.deliveryCount,
    ack: () => message.ack(),
    nak: (delayMs) => message.nak(delayMs),
    // nats-server 2.9 reads `+TERM` only bare (a reason after it came in 2.10): the reason
    // travels in the dead letter instead.
    term: () => message.term(),
    working: () => message.working(),
  };
}

/** Whether a publish failed because no stream stores its subject. */
function noStream(error: unknown): boolean {
  for (let cause = error, depth = 0; cause instanceof Error && depth < 5; depth++) {
    if (cause.name === "JetStreamNotEnabled" || cause.name === "NoRespondersError") return true;
    if (notFound(cause, JetStreamApiCodes.StreamNotFound)) return true;
    cause = cause.cause;
  }
  return false;
}

function notFound(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}

function brokerError(what: string, error: unknown): EventsError {
  const reason = error instanceof Error ? error.message : String(error);
  return new EventsError("GATEHOUSE_EVENTS_UNAVAILABLE", `${what}: ${reason}`, { cause: error });
}
