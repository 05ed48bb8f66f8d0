// The embedded broker on its own: dedup within the window, a new durable from the stream's
// first message, nak delays, ack wait, and the settled promise the outbox relay waits on.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EmbeddedBroker } from "./embedded-broker.ts";
import type { IncomingMessage } from "./transport.ts";

const message = (id: string, subject = "orders.created") => ({
  id,
  subject,
  data: new TextEncoder().encode("{}"),
  headers: {},
});

/** Collects deliveries; resolves `next()` with the next one. */
function collector() {
  const queue: IncomingMessage[] = [];
  const waiters: ((message: IncomingMessage) => void)[] = [];
  return {
    listener: (delivered: IncomingMessage) => {
      const waiter = waiters.shift();
      if (waiter) waiter(delivered);
      else queue.push(delivered);
    },
    next: () =>
      new Promise<IncomingMessage>((resolve) => {
        const queued = queue.shift();
        if (queued) resolve(queued);
        else waiters.push(resolve);
      }),
  };
}

describe("embedded broker", () => {
  it("drops an id seen within the duplicate window, and takes it again after", async () => {
    const broker = new EmbeddedBroker();
    broker.ensureStream({ name: "orders", subjects: ["orders.>"] }, 30);
    assert.equal(broker.publish(message("a")).duplicate, false);
    assert.equal(broker.publish(message("a")).duplicate, true);
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(broker.publish(message("a")).duplicate, false);
  });

  it("starts a new durable at the first message and redelivers a nak after its delay", async () => {
    const broker = new EmbeddedBroker();
    broker.ensureStream({ name: "orders", subjects: ["orders.>"] }, 1000);
    broker.publish(message("early"));
    const consumer = broker.consumer("orders", "d", "orders.*");
    const { listener, next } = collector();
    consumer.attach(listener, 1);
    const first = await next();
    assert.equal(first.headers["Nats-Msg-Id"], undefined, "ids travel in the transport's headers");
    assert.equal(first.deliveryCount, 1);
    const nakAt = Date.now();
    first.nak(30);
    const again = await next();
    assert.ok(Date.now() - nakAt >= 25);
    assert.equal(again.deliveryCount, 2);
    again.ack();
    assert.equal(consumer.pending(), 0);
  });

  it("redelivers what is not settled within the ack wait, unless the handler is working", async () => {
    const broker = new EmbeddedBroker();
    broker.ensureStream({ name: "orders", subjects: ["orders.>"] }, 1000);
    const consumer = broker.consumer("orders", "d", "orders.*");
    consumer.ackWaitMs = 40;
    const { listener, next } = collector();
    consumer.attach(listener, 1);
    broker.publish(message("slow"));
    const first = await next();
    const keepAlive = setInterval(() => first.working(), 10);
    await new Promise((resolve) => setTimeout(resolve, 80));
    clearInterval(keepAlive);
    assert.equal(consumer.pending(), 1, "still the first delivery");
    const second = await next();
    assert.equal(second.deliveryCount, 2);
    second.ack();
  });

  it("settles a message once every durable that matched it acked or terminated it", async () => {
    const broker = new EmbeddedBroker();
    broker.ensureStream({ name: "orders", subjects: ["orders.>"] }, 1000);
    const a = broker.consumer("orders", "a", "orders.*");
    const b = broker.consumer("orders", "b", "orders.created");
    broker.consumer("orders", "c", "orders.paid");
    const [ca, cb] = [collector(), collector()];
    a.attach(ca.listener, 1);
    b.attach(cb.listener, 1);
    let settled = false;
    void broker.publish(message("o-1")).settled!.then(() => {
      settled = true;
    });
    (await ca.next()).ack();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, "b has not settled it");
    (await cb.next()).term();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, true);
    const unmatched = broker.publish(message("p-1", "orders.eu.refunded"));
    await unmatched.settled;
  });
});
