/**
 * @module sdk/events/embedded-transport
 * The transport of a bus connected without a URL: the process's in-memory broker
 * (embedded-broker.ts), shared by every such bus in the process, so services hosted in one
 * process talk to each other with the same API they would use over NATS. Nothing of it
 * outlives the process: what must survive a restart goes through a store's outbox, whose
 * rows stay unpublished until every consumer of the process has settled them.
 */
import { DeliveryQueue } from "./delivery-queue.ts";
import { processBroker } from "./embedded-broker.ts";
import type { StreamDeclaration } from "./event-types.ts";
import type {
  ConsumerSpec,
  IncomingMessage,
  OutgoingMessage,
  PublishReceipt,
  Transport,
  TransportConsumer,
} from "./transport.ts";

/** A transport on the process's broker. */
export function embeddedTransport(): Transport {
  const broker = processBroker;
  return {
    kind: "embedded",
    async ensureStream(stream: StreamDeclaration, duplicateWindowMs: number): Promise<void> {
      broker.ensureStream(stream, duplicateWindowMs);
    },
    async publish(message: OutgoingMessage): Promise<PublishReceipt> {
      // A copy (the broker keeps it) with the id header JetStream would show a consumer.
      return broker.publish({
        ...message,
        headers: { ...message.headers, "Nats-Msg-Id": message.id },
      });
    },
    async consume(
      spec: ConsumerSpec,
      onMessage: (message: IncomingMessage) => Promise<void>,
    ): Promise<TransportConsumer> {
      const consumer = broker.consumer(spec.stream, spec.durable, spec.subject);
      consumer.ackWaitMs = spec.ackWaitMs;
      const queue = new DeliveryQueue(spec.concurrency, spec.ackWaitMs, onMessage);
      const listener = (message: IncomingMessage) => queue.push(message);
      consumer.attach(listener, spec.concurrency);
      return {
        pending: async () => consumer.pending(),
        stop: async () => {
          consumer.detach(listener);
          await queue.stop();
        },
      };
    },
    async close(): Promise<void> {},
  };
}
