/**
 * @module observability/registry-metrics
 * The service registry as metrics: its instances by service and state, read from the
 * store when Prometheus scrapes (so they never drift from what the API shows), whether an
 * etcd store reaches etcd, counters of registrations and of leases that ran out, and how
 * long leases went unrenewed before each heartbeat, told by the store as they happen.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { RegistryObserver, ServiceCount } from "../registry/store.ts";

/**
 * Seconds, for leases of 1 s to 60 s: the SDK heartbeats at a third of the TTL (0.33 s to
 * 20 s), and a lag that nears the TTL (up to 60 s) is what the metric is for.
 */
const heartbeatLagBuckets = [0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90];

/** Registry metrics of one gateway; the store reports to it. */
export class RegistryMetrics implements RegistryObserver {
  readonly #registrations: Counter<"service">;
  readonly #expirations: Counter<"service">;
  readonly #heartbeatLag: Histogram<"service">;

  /**
   * `counts`: the registry's services now (none while the gateway has no registry);
   * `connected`: whether its store reaches etcd (undefined: no etcd store).
   */
  constructor(
    registers: Registry[],
    counts: () => readonly ServiceCount[],
    connected: () => boolean | undefined = () => undefined,
  ) {
    new Gauge({
      name: "gatehouse_registry_instances",
      help: "Instances in the service registry, by registry service and state (up: taking traffic; down: missed its lease, removed after gateway.registry.removeAfter).",
      labelNames: ["service", "state"],
      registers,
      collect() {
        this.reset();
        for (const { name, up, down } of counts()) {
          this.labels(name, "up").set(up);
          this.labels(name, "down").set(down);
        }
      },
    });
    new Gauge({
      name: "gatehouse_registry_store_connected",
      help: "1 while the service registry's etcd store follows etcd; 0 while it cannot reach it (the gateway routes to the instances it last knew, registrations answer 503).",
      labelNames: ["store"],
      registers,
      collect() {
        this.reset();
        const up = connected();
        if (up !== undefined) this.labels("etcd").set(up ? 1 : 0);
      },
    });
    this.#registrations = new Counter({
      name: "gatehouse_registry_registrations_total",
      help: "Registrations the service registry accepted (new instances and re-registrations), by registry service.",
      labelNames: ["service"],
      registers,
    });
    this.#expirations = new Counter({
      name: "gatehouse_registry_expirations_total",
      help: "Instances whose lease ran out without a heartbeat (they went down), by registry service.",
      labelNames: ["service"],
      registers,
    });
    // Observed on every heartbeat (200 a second for 1,000 instances at 5 s): the service label
    // costs about 0.1 µs an observation over none, nothing beside the request's own cost.
    this.#heartbeatLag = new Histogram({
      name: "gatehouse_registry_heartbeat_lag_seconds",
      help: "Seconds from a lease's last renewal (registration or heartbeat) to the heartbeat that renewed it, by registry service; a lag near the lease's TTL means instances are about to expire.",
      labelNames: ["service"],
      buckets: heartbeatLagBuckets,
      registers,
    });
  }

  registered(service: string): void {
    this.#registrations.labels(service).inc();
  }

  expired(service: string): void {
    this.#expirations.labels(service).inc();
  }

  renewed(service: string, sinceMs: number): void {
    this.#heartbeatLag.observe({ service }, sinceMs / 1000);
  }
}
