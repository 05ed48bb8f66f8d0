/**
 * @module sdk/events/event-metrics
 * The events' metrics on the SDK registry (sdkMetrics): counters told as events are
 * published, delivered, acked, redelivered and dead-lettered, and two gauges read when
 * Prometheus scrapes: each durable consumer's lag (messages stored for it and not settled,
 * asked of the broker) and each store's outbox rows not yet published.
 */
import { Counter, Gauge } from "prom-client";
import { sdkMetrics } from "../metrics.ts";

const registers = [sdkMetrics];

export const publishedTotal = new Counter({
  name: "gatehouse_events_published_total",
  help: "Events the broker stored (a duplicate id within the window is not counted), by subject; outbox rows relayed included.",
  labelNames: ["subject"],
  registers,
});

export const deliveredTotal = new Counter({
  name: "gatehouse_events_delivered_total",
  help: "Deliveries handed to a handler (redeliveries included), by durable consumer.",
  labelNames: ["durable"],
  registers,
});

export const ackedTotal = new Counter({
  name: "gatehouse_events_acked_total",
  help: "Events acked after their handler succeeded or their inbox row showed them applied already, by durable consumer.",
  labelNames: ["durable"],
  registers,
});

export const redeliveredTotal = new Counter({
  name: "gatehouse_events_redelivered_total",
  help: "Deliveries of an event delivered before (after a failure, an expired ack wait or a restart), by durable consumer.",
  labelNames: ["durable"],
  registers,
});

export const deadLetteredTotal = new Counter({
  name: "gatehouse_events_dead_lettered_total",
  help: "Events sent to deadletter.<durable> (maxDeliver reached, term(), or data that is not JSON), by durable consumer.",
  labelNames: ["durable"],
  registers,
});

/** Something whose pending count the lag gauge reads at scrape time. */
export interface LagSource {
  durable: string;
  pending(): Promise<number>;
}

/** Something whose unpublished outbox rows the outbox gauge reads at scrape time. */
export interface OutboxSource {
  store: string;
  pending(): Promise<number>;
}

const lagSources = new Set<LagSource>();
const outboxSources = new Set<OutboxSource>();

new Gauge({
  name: "gatehouse_events_consumer_lag",
  help: "Messages stored for a durable consumer of this process and not settled yet (not delivered, or delivered and not acked), by durable consumer.",
  labelNames: ["durable"],
  registers,
  async collect() {
    this.reset();
    await Promise.all(
      [...lagSources].map(async (source) => {
        const pending = await source.pending().catch(() => undefined);
        if (pending !== undefined) this.labels(source.durable).set(pending);
      }),
    );
  },
});

new Gauge({
  name: "gatehouse_events_outbox_pending",
  help: "Outbox rows committed and not yet published (or, on the embedded transport, not yet settled by every consumer), by store.",
  labelNames: ["store"],
  registers,
  async collect() {
    this.reset();
    await Promise.all(
      [...outboxSources].map(async (source) => {
        const pending = await source.pending().catch(() => undefined);
        if (pending !== undefined) this.labels(source.store).set(pending);
      }),
    );
  },
});

/** Reads `source` into the lag gauge until the returned function is called. */
export function watchLag(source: LagSource): () => void {
  lagSources.add(source);
  return () => lagSources.delete(source);
}

/** Reads `source` into the outbox gauge until the returned function is called. */
export function watchOutbox(source: OutboxSource): () => void {
  outboxSources.add(source);
  return () => outboxSources.delete(source);
}
