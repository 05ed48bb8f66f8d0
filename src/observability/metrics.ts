/**
 * @module observability/metrics
 * The gateway's Prometheus metrics (prom-client), in a registry of its own so several
 * gateways in one process never share counters. Upstream state is read when Prometheus
 * scrapes, from the targets themselves, so it can never drift from what the selectors see.
 */
import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  openMetricsContentType,
  Registry,
} from "prom-client";
import type { ServiceCount } from "../registry/store.ts";
import { type Http2CloseReason, http2CloseReasons } from "../server/http2-sessions.ts";
import type { ClientTimeout } from "../server/request-body-watch.ts";
import type { Target } from "../upstream/target.ts";
import type { ConfigRevision } from "./config-revision.ts";
import { HealthCheckMetrics } from "./health-check-metrics.ts";
import { PluginMetrics } from "./plugin-metrics.ts";
import { RegistryMetrics } from "./registry-metrics.ts";
import { RequestMetrics } from "./request-metrics.ts";

/** What the metrics read at scrape time. */
export interface MetricsSource {
  services(): Iterable<{ name: string; targets: readonly Target[] }>;
  /** Client connections open on the proxy listeners. */
  openConnections(): number;
  /** The TLS listeners' certificates serving now (the supervisor's view). */
  certificates?(): Iterable<{ listener: string; certificates: readonly ServedCertificate[] }>;
  /** The service registry's services and their instances (none without a registry). */
  serviceRegistry?(): readonly ServiceCount[];
  /** Whether the registry's store reaches etcd (undefined: no registry, or one in memory). */
  serviceRegistryConnected?(): boolean | undefined;
}

/** What the expiry metric reads of a certificate. */
interface ServedCertificate {
  names: readonly string[];
  subject: string;
  notAfter: Date;
}

const breakerStates = ["closed", "open", "half-open"] as const;

/**
 * Whether each shared config store (`etcd`) answers: 1, or 0 while the node serves its
 * last applied config and retries. Set by the etcd provider, for the process (the CLI runs
 * one gateway a process, and the provider holds no handle on a gateway's metrics).
 */
export const configStoreUp = new Map<string, 0 | 1>();

/** Every metric of one gateway, and the registry `/metrics` serves. */
export class GatewayMetrics {
  readonly registry = new Registry();
  /** Counts, durations and bytes of every request the proxy listeners finish. */
  readonly requests: RequestMetrics;
  /** What plugins count: limit decisions, store failures, authentication failures. */
  readonly plugins: PluginMetrics;
  /** Active health probes' results and durations. */
  readonly healthChecks: HealthCheckMetrics;
  /** The service registry's instances, registrations and expirations (the supervisor's). */
  readonly serviceRegistry: RegistryMetrics;
  readonly #reloads: Counter<"result">;
  readonly #configInfo: Gauge<"hash">;
  readonly #configVersion: Gauge;
  readonly #accessLogDropped: Counter;
  readonly #tracingSpansDropped: Counter<"reason">;
  readonly #tracingExports: Counter<"outcome">;
  readonly #connectionsRefused: Counter.Internal;
  readonly #clientTimeouts: Record<ClientTimeout, Counter.Internal>;
  readonly #http2Closed: Counter<"reason">;
  readonly #openMetrics: Registry<typeof openMetricsContentType>;

  /**
   * `worker`: this gateway is one of a node's worker threads. Its registry then holds only
   * what the worker counts (requests, plugin decisions, in-flight tries): the supervisor
   * serves `/metrics`, adding the workers' counts to its own (see workerMetrics), and
   * process, config and target-state metrics are its alone, so nothing is counted twice.
   */
  constructor(source: MetricsSource, options: { worker?: boolean } = {}) {
    const worker = options.worker ?? false;
    const registers = worker ? [] : [this.registry];
    if (!worker) collectDefaultMetrics({ register: this.registry });
    this.#reloads = new Counter({
      name: "gatehouse_config_reloads_total",
      help: "Config reloads, by result (success or failure).",
      labelNames: ["result"],
      registers,
    });
    for (const result of ["success", "failure"]) this.#reloads.labels(result).inc(0);
    this.#configInfo = new Gauge({
      name: "gatehouse_config_info",
      help: "The config being served: 1, labelled with its content hash.",
      labelNames: ["hash"],
      registers,
    });
    this.#configVersion = new Gauge({
      name: "gatehouse_config_version",
      help: "How many configs this process has applied; the one being served.",
      registers,
    });
    new Gauge({
      name: "gatehouse_config_store_up",
      help: "1 while the shared config store (etcd) answers; 0: the node serves its last applied config and retries.",
      labelNames: ["store"],
      registers,
      collect() {
        for (const [store, up] of configStoreUp) this.labels(store).set(up);
      },
    });
    this.#accessLogDropped = new Counter({
      name: "gatehouse_access_log_dropped_total",
      help: "Access-log lines dropped because the destination fell more than accessLog.bufferSize behind.",
      registers: [this.registry],
    });
    // Counted by each thread's tracer (workers too), like the access log.
    this.#tracingSpansDropped = new Counter({
      name: "gatehouse_tracing_spans_dropped_total",
      help: "Finished spans never exported, by reason: queue_full (maxQueueSize spans waiting), export_failed (their export failed for good), stopped (ended while the gateway stopped).",
      labelNames: ["reason"],
      registers: [this.registry],
    });
    this.#tracingExports = new Counter({
      name: "gatehouse_tracing_exports_total",
      help: "OTLP trace export requests, by outcome: success (the collector took it, maybe after retries) or failed (refused, or still failing when its retries ran out).",
      labelNames: ["outcome"],
      registers: [this.registry],
    });
    // Counted by the threads that hold the client connections (workers too).
    this.#connectionsRefused = new Counter({
      name: "gatehouse_connections_refused_total",
      help: "Client connections the proxy listeners refused (answered 503 and closed), by reason: limit (gateway.limits.maxClientConnections).",
      labelNames: ["reason"],
      registers: [this.registry],
    }).labels("limit");
    const clientTimeouts = new Counter({
      name: "gatehouse_client_timeouts_total",
      help: "Requests cut with 408 because the client sent them too slowly, by timeout: headers (requestHeadersTimeout), body_idle (requestBodyIdleTimeout), body (requestBodyTimeout).",
      labelNames: ["timeout"],
      registers: [this.registry],
    });
    this.#clientTimeouts = {
      headers: clientTimeouts.labels("headers"),
      body_idle: clientTimeouts.labels("body_idle"),
      body: clientTimeouts.labels("body"),
    };
    // Counted by the threads that hold the client connections (workers too).
    this.#http2Closed = new Counter({
      name: "gatehouse_http2_sessions_closed_total",
      help: "HTTP/2 client connections closed for misbehaving, by reason: resets, pings, settings (over gateway.limits.http2's per-second limits: GOAWAY ENHANCE_YOUR_CALM), flood (acknowledgements left unread), protocol_error (invalid frames, too many refused streams, other protocol errors).",
      labelNames: ["reason"],
      registers: [this.registry],
    });
    for (const reason of http2CloseReasons) this.#http2Closed.labels(reason).inc(0);
    this.requests = new RequestMetrics(this.registry, source.openConnections);
    this.plugins = new PluginMetrics(this.registry);
    this.healthChecks = new HealthCheckMetrics(this.registry);
    upstreamGauges(source, registers, [this.registry]);
    this.serviceRegistry = new RegistryMetrics(
      registers,
      () => source.serviceRegistry?.() ?? [],
      () => source.serviceRegistryConnected?.(),
    );
    new Gauge({
      name: "gatehouse_tls_certificate_expiry_seconds",
      help: "Seconds until each TLS listener certificate expires (negative once it has), by listener and certificate (its first name, or its subject).",
      labelNames: ["listener", "certificate"],
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const { listener, certificates } of source.certificates?.() ?? [])
          for (const { names, subject, notAfter } of certificates)
            this.labels(listener, names[0] ?? subject).set(
              Math.round((notAfter.getTime() - now) / 1000),
            );
      },
    });
    this.#openMetrics = openMetricsView(this.registry);
  }

  /** What a worker thread counted, for its supervisor's `/metrics`. */
  workerMetrics(): Promise<object[]> {
    return this.registry.getMetricsAsJSON();
  }

  /**
   * The metrics as Prometheus text, or as OpenMetrics when the scraper's Accept asks for it;
   * with `workers` (each worker thread's workerMetrics), their counts are added to these.
   */
  async exposition(
    accept: string | undefined,
    workers: object[][] = [],
  ): Promise<{ contentType: string; body: string }> {
    const openMetrics = accept?.includes("application/openmetrics-text") ?? false;
    if (workers.length > 0) {
      const sum = AggregatorRegistry.aggregate([
        await this.registry.getMetricsAsJSON(),
        ...workers,
      ]);
      if (openMetrics) sum.setContentType(openMetricsContentType as never);
      return { contentType: sum.contentType, body: await sum.metrics() };
    }
    if (!openMetrics) {
      return { contentType: this.registry.contentType, body: await this.registry.metrics() };
    }
    // prom-client strips `_total` from counter names in place for OpenMetrics, and the two
    // registries share the metric objects: put the names back once they have been read
    // (they are, synchronously, when metrics() starts).
    const metrics = this.#openMetrics.getMetricsAsArray();
    const names = metrics.map((metric) => metric.name);
    const body = this.#openMetrics.metrics();
    metrics.forEach((metric, i) => {
      (metric as { name: string }).name = names[i]!;
    });
    return { contentType: this.#openMetrics.contentType, body: await body };
  }

  /**
   * A config was applied: the one the process starts with (`reload` false), then each
   * successful reload. With etcd the version is the cluster's, so it cannot tell the two apart.
   */
  configApplied(revision: ConfigRevision, reload: boolean): void {
    if (reload) this.#reloads.labels("success").inc();
    this.#configVersion.set(revision.version);
    this.#configInfo.reset();
    this.#configInfo.labels(revision.hash).set(1);
  }

  /** Access-log lines were dropped (the destination is too far behind). */
  accessLogDropped(lines: number): void {
    this.#accessLogDropped.inc(lines);
  }

  /** Finished spans will never reach the collector. */
  tracingSpansDropped(reason: string, spans: number): void {
    this.#tracingSpansDropped.labels(reason).inc(spans);
  }

  /** A trace export ended, taken by the collector or failed for good. */
  tracingExportEnded(outcome: string): void {
    this.#tracingExports.labels(outcome).inc();
  }

  /** A client connection was refused: the node held gateway.limits.maxClientConnections. */
  connectionRefused(): void {
    this.#connectionsRefused.inc();
  }

  /** A request was cut because its client sent it too slowly. */
  clientTimedOut(timeout: ClientTimeout): void {
    this.#clientTimeouts[timeout].inc();
  }

  /** The gateway (or nghttp2) closed an HTTP/2 client connection that misbehaved. */
  http2SessionClosed(reason: Http2CloseReason): void {
    this.#http2Closed.labels(reason).inc();
  }

  /** A reload was refused (the new config had problems); the last good one keeps serving. */
  reloadFailed(): void {
    this.#reloads.labels("failure").inc();
  }
}

/** The same metric objects, written as OpenMetrics. */
function openMetricsView(registry: Registry): Registry<typeof openMetricsContentType> {
  // merge() makes a Prometheus-typed registry; its content type is switched in place.
  const view = Registry.merge([registry]) as unknown as Registry<typeof openMetricsContentType>;
  view.setContentType(openMetricsContentType);
  return view;
}

/**
 * Per-target gauges, filled from the targets on each scrape. State gauges go to `registers`
 * (none in a worker: the supervisor's targets follow every worker's); the in-flight count,
 * which only the threads that proxy know, always goes to `counted`.
 */
function upstreamGauges(source: MetricsSource, registers: Registry[], counted: Registry[]): void {
  const labelNames = ["service", "target"] as const;
  const each = (visit: (service: string, target: Target) => void) => {
    for (const service of source.services()) {
      for (const target of service.targets) visit(service.name, target);
    }
  };
  new Gauge({
    name: "gatehouse_upstream_target_up",
    help: "1 when the target passes its health checks (or has none) and is not ejected, else 0.",
    labelNames,
    registers,
    collect() {
      this.reset();
      each((service, target) => {
        const up = target.health === "healthy" && target.ejectedUntil <= target.clock.now();
        this.labels(service, target.url).set(up ? 1 : 0);
      });
    },
  });
  new Gauge({
    name: "gatehouse_upstream_target_available",
    help: "1 when a load balancer may pick the target now (up, breaker not open, not full).",
    labelNames,
    registers,
    collect() {
      this.reset();
      each((service, target) => this.labels(service, target.url).set(target.available() ? 1 : 0));
    },
  });
  new Gauge({
    name: "gatehouse_upstream_breaker_state",
    help: "The target's circuit breaker: 1 for its current state, 0 for the others.",
    labelNames: [...labelNames, "state"],
    registers,
    collect() {
      this.reset();
      each((service, target) => {
        if (!target.breaker) return;
        for (const state of breakerStates) {
          this.labels(service, target.url, state).set(target.breaker.state === state ? 1 : 0);
        }
      });
    },
  });
  new Gauge({
    name: "gatehouse_upstream_in_flight_requests",
    help: "Requests sent to the target and not finished yet.",
    labelNames,
    registers: counted,
    collect() {
      this.reset();
      each((service, target) => this.labels(service, target.url).set(target.inFlight));
    },
  });
  new Counter({
    name: "gatehouse_upstream_ejections_total",
    help: "Times outlier detection ejected the target since it joined its service.",
    labelNames,
    registers,
    collect() {
      this.reset();
      each((service, target) => this.labels(service, target.url).inc(target.ejections));
    },
  });
}
