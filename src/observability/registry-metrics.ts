/**
 * @module observability/registry-metrics
 * The service registry as metrics: its instances by service and state, read from the
 * store when Prometheus scrapes (so they never drift from what the API shows), whether an
 * etcd store reaches etcd, and counters of registrations and of leases that ran out, told
 * by the store as they happen.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { RegistryObserver, ServiceCount } from "../registry/store.ts";

/** Registry metrics of one gateway; the store reports to it. */
export class RegistryMetrics implements RegistryObserver {
  readonly #registrations: Counter<"service">;
  readonly #expirations: Counter<"service">;

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
  }

  registered(service: string): void {
    this.#registrations.labels(service).inc();
  }

  expired(service: string): void {
    this.#expirations.labels(service).inc();
  }
}
