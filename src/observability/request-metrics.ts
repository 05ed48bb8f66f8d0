/**
 * @module observability/request-metrics
 * Per-request metrics: counts, durations and bytes by route and service. Label children
 * are looked up once per route, method and status class and kept, so recording a request
 * builds no strings and looks nothing up by label values.
 */

import { performance } from "node:perf_hooks";
import { Gauge, type Registry } from "prom-client";
import { grpcStatusName } from "../grpc/status.ts";
import { type ExchangeObserver, type GatewayResponse, requestBytes } from "../server/exchange.ts";
import { RequestWindow, type WindowSeries } from "./request-window.ts";
import {
  type CounterChild,
  CounterFamily,
  type HistogramChild,
  HistogramFamily,
} from "./series.ts";

/** Seconds; from a fast cache hit to a slow upstream, Prometheus-style steps. */
const durationBuckets = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

const methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"];
const methodIndex = new Map(methods.map((method, index) => [method, index]));
const statusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/** A route's answers since start. */
export interface RouteTraffic {
  requests: number;
  /** `2xx`, `4xx`, … → count. */
  byStatusClass: Record<string, number>;
  /** Gateway error code → count. */
  errors: Record<string, number>;
}

/** One route's children, filled as combinations first occur. */
interface RouteSeries {
  service: string;
  requests: (CounterChild | undefined)[];
  duration: HistogramChild;
  upstreamDuration: HistogramChild;
  bytesIn: CounterChild;
  bytesOut: CounterChild;
  retries: CounterChild;
  errors: Map<string, CounterChild>;
  /** gRPC calls by status number (gRPC requests and grpc-transcode's only). */
  grpc: Map<number, CounterChild>;
  /** The last 15 minutes, for the admin API's `GET /stats`. */
  window: WindowSeries;
}

/** Records every finished request of the proxy listeners. */
export class RequestMetrics implements ExchangeObserver {
  /** The rolling window of this thread's requests (admin API `GET /stats`). */
  readonly window = new RequestWindow();
  readonly #requests: CounterFamily;
  readonly #duration: HistogramFamily;
  readonly #upstreamDuration: HistogramFamily;
  readonly #bytesIn: CounterFamily;
  readonly #bytesOut: CounterFamily;
  readonly #retries: CounterFamily;
  readonly #errors: CounterFamily;
  readonly #grpc: CounterFamily;
  #inFlight = 0;
  /** Each route's series for the service it has now. */
  readonly #series = new Map<string, RouteSeries>();
  readonly #seriesByService = new Map<string, RouteSeries>();

  constructor(registry: Registry, openConnections: () => number) {
    const routeLabels = ["route", "service"];
    this.#requests = new CounterFamily(
      "gatehouse_requests_total",
      "Requests answered, by route, service, method and status class.",
      [...routeLabels, "method", "status_class"],
    );
    this.#duration = new HistogramFamily(
      "gatehouse_request_duration_seconds",
      "Time from the request's headers to the end of the response, as the gateway saw it.",
      routeLabels,
      durationBuckets,
    );
    this.#upstreamDuration = new HistogramFamily(
      "gatehouse_upstream_duration_seconds",
      "Time from sending the request upstream (first try) to the end of the upstream's response.",
      routeLabels,
      durationBuckets,
    );
    this.#bytesIn = new CounterFamily(
      "gatehouse_request_bytes_total",
      "Request body bytes received from clients.",
      routeLabels,
    );
    this.#bytesOut = new CounterFamily(
      "gatehouse_response_bytes_total",
      "Response body bytes sent to clients.",
      routeLabels,
    );
    this.#retries = new CounterFamily(
      "gatehouse_upstream_retries_total",
      "Tries sent again to a target after a failed one.",
      routeLabels,
    );
    this.#errors = new CounterFamily(
      "gatehouse_errors_total",
      "Requests the gateway answered with one of its own error codes (see docs/errors.md), by code.",
      [...routeLabels, "code"],
    );
    this.#grpc = new CounterFamily(
      "gatehouse_grpc_calls_total",
      "gRPC calls answered (proxied, and grpc-transcode's), by route, service and gRPC status name.",
      [...routeLabels, "grpc_status"],
    );
    const families = [
      this.#grpc,
      this.#requests,
      this.#duration,
      this.#upstreamDuration,
      this.#bytesIn,
      this.#bytesOut,
      this.#retries,
      this.#errors,
    ];
    // prom-client's registry renders any object with a name, help, type and get().
    for (const family of families) registry.registerMetric(family as never);
    const self = this;
    new Gauge({
      name: "gatehouse_requests_in_flight",
      help: "Requests received and not finished yet.",
      registers: [registry],
      collect() {
        this.set(self.#inFlight);
      },
    });
    new Gauge({
      name: "gatehouse_connections_open",
      help: "Client connections open on the proxy listeners.",
      registers: [registry],
      collect() {
        this.set(openConnections());
      },
    });
  }

  started(): void {
    this.#inFlight++;
  }

  /**
   * Each route's answers since start, by status class and by gateway error code (the admin
   * API's runtime view). Read from the same counters `/metrics` renders.
   */
  trafficByRoute(): Map<string, RouteTraffic> {
    return trafficOf([this.#requests.get().values], [this.#errors.get().values]);
  }

  finished(res: GatewayResponse): void {
    this.#inFlight--;
    let series = this.#series.get(res.route);
    // A reload may have moved the route to another service: its series follow.
    if (series === undefined || series.service !== res.service) {
      series = this.#newSeries(res.route, res.service);
    }
    const method = methodIndex.get(res.req.method!) ?? methods.length - 1;
    // No status was sent when the client left first: counted as 4xx (nginx logs it as 499).
    const status = res.headersSent ? res.statusCode : 499;
    const statusClass = Math.min(Math.max(Math.floor(status / 100), 1), 5) - 1;
    const slot = method * statusClasses.length + statusClass;
    let requests = series.requests[slot];
    if (requests === undefined) {
      requests = this.#requests.child(
        res.route,
        res.service,
        methods[method]!,
        statusClasses[statusClass]!,
      );
      series.requests[slot] = requests;
    }
    requests.value++;
    const now = performance.now();
    const elapsed = now - res.startedAt;
    series.duration.observe(elapsed / 1000);
    series.window.record(now, status, res.errorCode, elapsed);
    if (res.upstreamStartedAt > 0) {
      const ended = res.upstreamEndedAt || now;
      series.upstreamDuration.observe((ended - res.upstreamStartedAt) / 1000);
    }
    series.bytesIn.value += requestBytes(res);
    series.bytesOut.value += res.bytesOut;
    series.retries.value += res.retries;
    if (res.errorCode !== "") {
      let errors = series.errors.get(res.errorCode);
      if (errors === undefined) {
        errors = this.#errors.child(res.route, res.service, res.errorCode);
        series.errors.set(res.errorCode, errors);
      }
      errors.value++;
    }
    if (res.grpcStatus >= 0) {
      let calls = series.grpc.get(res.grpcStatus);
      if (calls === undefined) {
        calls = this.#grpc.child(res.route, res.service, grpcStatusName(res.grpcStatus));
        series.grpc.set(res.grpcStatus, calls);
      }
      calls.value++;
    }
  }

  #newSeries(route: string, service: string): RouteSeries {
    // A route that moves back to a service it had keeps its series: one child per label set.
    const key = `${route}\u0000${service}`;
    const known = this.#seriesByService.get(key);
    if (known) {
      this.#series.set(route, known);
      return known;
    }
    const series: RouteSeries = {
      service,
      requests: [],
      duration: this.#duration.child(route, service),
      upstreamDuration: this.#upstreamDuration.child(route, service),
      bytesIn: this.#bytesIn.child(route, service),
      bytesOut: this.#bytesOut.child(route, service),
      retries: this.#retries.child(route, service),
      errors: new Map(),
      grpc: new Map(),
      window: this.window.series(route, service),
    };
    this.#series.set(route, series);
    this.#seriesByService.set(key, series);
    return series;
  }
}

type Sample = { labels: Partial<Record<string, string | number>>; value: number };

/** Each route's answers from request and error counter samples (of one or many registries). */
function trafficOf(requests: Sample[][], errors: Sample[][]): Map<string, RouteTraffic> {
  const traffic = new Map<string, RouteTraffic>();
  const of = (route: string) => {
    let entry = traffic.get(route);
    if (!entry) {
      entry = { requests: 0, byStatusClass: {}, errors: {} };
      traffic.set(route, entry);
    }
    return entry;
  };
  for (const { labels, value } of requests.flat()) {
    const entry = of(String(labels.route));
    entry.requests += value;
    const statusClass = String(labels.status_class);
    entry.byStatusClass[statusClass] = (entry.byStatusClass[statusClass] ?? 0) + value;
  }
  for (const { labels, value } of errors.flat()) {
    const entry = of(String(labels.route));
    const code = String(labels.code);
    entry.errors[code] = (entry.errors[code] ?? 0) + value;
  }
  return traffic;
}

/** Each route's answers, added up over worker threads' metrics (GatewayMetrics.workerMetrics). */
export function trafficOfWorkers(workers: object[][]): Map<string, RouteTraffic> {
  const samples = (name: string) =>
    workers.map(
      (metrics) =>
        (metrics as { name: string; values: Sample[] }[]).find((metric) => metric.name === name)
          ?.values ?? [],
    );
  return trafficOf(samples("gatehouse_requests_total"), samples("gatehouse_errors_total"));
}
