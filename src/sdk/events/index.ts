/**
 * @module sdk/events
 * Events for services: `events.connect(url?)` gives a bus over NATS JetStream (with a URL)
 * or over the process's embedded broker (without one), with the same API and guarantees:
 * at-least-once delivery to durable consumers, an exactly-once effect with a store's inbox,
 * and a transactional outbox relayed after commit. See docs/events.md.
 */
import { Bus } from "./bus.ts";
import { embeddedTransport } from "./embedded-transport.ts";
import type { EventBus, EventsOptions } from "./event-types.ts";
import { resolveEventsOptions } from "./events-options.ts";
import { connectJetStream } from "./jetstream-transport.ts";
import { startOutboxRelay } from "./outbox-relay.ts";

export type { DeadLetter, DeadLetterCode } from "./dead-letter.ts";
export type {
  DeliveredEvent,
  EventBus,
  EventHandler,
  EventsOptions,
  PublishOptions,
  PublishResult,
  StreamDeclaration,
  SubscribeOptions,
  Subscription,
} from "./event-types.ts";
export { EventsError, type EventsErrorCode } from "./events-error.ts";

/**
 * Connects a bus: to NATS JetStream at `url` (`nats://host:4222`), or, with no URL, to the
 * embedded in-process transport (one process only). Declared streams are created or checked
 * before it resolves; the bus starts relaying its stores' outboxes.
 *
 * @example
 * ```ts
 * const bus = await events.connect(process.env.NATS_URL);
 * await bus.publish("orders.created", { orderId }, { id: orderId });
 * ```
 */
async function connect(url?: string, options?: EventsOptions): Promise<EventBus> {
  const resolved = resolveEventsOptions(options);
  const transport = url ? await connectJetStream(url) : embeddedTransport();
  const bus = new Bus(transport, resolved);
  try {
    await bus.start();
  } catch (error) {
    await bus.close();
    throw error;
  }
  bus.onClose(startOutboxRelay(bus, resolved.stores));
  return bus;
}

/** The events API of the SDK. */
export const events = { connect };
