/**
 * @module sdk/client-options
 * What every service client is told, whatever it speaks: where the registry is (its API,
 * or etcd), which instances to call, the caller's zone, and the upstream settings of a
 * service in the gateway's config file; and the case its header (metadata) names take.
 */
import type { ClientUpstreamOptions } from "./client-config.ts";
import type { EtcdOptions } from "./etcd-options.ts";
import type { RegistryUrls } from "./registry-endpoint.ts";

/**
 * How a client reaches the registry and calls the service. The upstream settings take the
 * names, units (`"250ms"`, `"5s"`) and defaults of a service in the gateway's config file
 * (docs/config.md): no breaker unless `circuitBreaker` is given, 2 retries on connect
 * failures, timeouts, resets, 502, 503 and 504 (HTTP: of idempotent requests; gRPC: of
 * calls that could not connect or ended UNAVAILABLE before any response message), within
 * a retry budget.
 */
export interface ClientOptions extends ClientUpstreamOptions {
  /**
   * The registry API's base URL, or several (gateway nodes sharing one registry): the watch
   * follows the first that answers, and the next in the list when its stream cannot be
   * opened, breaks, or is answered 5xx. Default `GATEHOUSE_REGISTRY` (URLs separated by
   * commas), unless `etcd` is given.
   */
  registry?: RegistryUrls;
  /** A registry (or admin) key; default `GATEHOUSE_REGISTRY_KEY`. */
  key?: string;
  /**
   * Follow the instances straight in etcd instead of through a gateway's registry API: the
   * etcd of the gateways' `gateway.registry.store: etcd`, with the same `prefix`.
   */
  etcd?: EtcdOptions;
  /**
   * Call only the instances that pass these filters, as `discovery.registry` in the
   * gateway's config: every tag in `tags`, a `version` in the semver range (`">=1.4.0 <2"`),
   * in `zone`, each `metadata` entry equal. Default: every instance.
   */
  filter?: ClientUpstreamOptions["filter"];
  /**
   * The caller's own zone (e.g. its availability zone): calls go to the instances in it
   * while one of them is available, to the others only when none is (the gateway's
   * `loadBalancer.zoneAware` with `gateway.zone`; `loadBalancer: { zoneAware: false }`
   * turns it off).
   */
  zone?: string;
  /**
   * The whole call's deadline, retries included (milliseconds or `"5s"`); default none. A call
   * made while handling a request never outlives that request's own deadline either.
   */
  timeout?: number | string;
  /** Retries after the first try (a number), or the config file's whole `retries` block. */
  retries?: ClientUpstreamOptions["retries"];
  /** The balancing algorithm (`"round-robin"`, `"least-connections"`, …) or a `loadBalancer` block. */
  loadBalancer?: ClientUpstreamOptions["loadBalancer"];
  /**
   * How long a call made before the first answer from the registry waits for it (milliseconds);
   * default 5000. A call never waits past its deadline.
   */
  discoveryTimeout?: number;
}

/** Header or metadata names as sent: lower-case (a name given twice, differently cased, once). */
export function lowerCaseNames(record: Record<string, string>): Record<string, string> {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(record)) lower[name.toLowerCase()] = String(value);
  return lower;
}
