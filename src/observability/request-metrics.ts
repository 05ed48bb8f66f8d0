/**
 * @module observability/request-metrics
 * Per-request metrics: counts, durations and bytes by route and service. Label children
 * are looked up once per route, method and status class and kept, so recording a request
 * builds no strings and looks nothing up by label values.
 */
import { performance } from "node:perf_hooks";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ExchangeObserver, GatewayResponse } from "../server/exchange.ts";

/** Seconds; from a fast cache hit to a slow upstream, Prometheus-style steps. */
const durationBuckets = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

const methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"];
const methodIndex = new Map(methods.map((method, index) => [method, index]));
const statusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"];

type CounterChild = ReturnType<Counter<string>["labels"]>;
type HistogramChild = ReturnType<Histogram<string>["labels"]>;

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
}

/** Records every finished request of the proxy listeners. */
export class RequestMetrics implements ExchangeObserver {
  readonly #requests: Counter<string>;
  readonly #duration: Histogram<string>;
  readonly #upstreamDuration: Histogram<string>;
  readonly #bytesIn: Counter<string>;
  readonly #bytesOut: Counter<string>;
  readonly #retries: Counter<string>;
  readonly #errors: Counter<string>;
  readonly #inFlight: Gauge;
  readonly #series = new Map<string, RouteSeries>();

  constructor(registry: Registry, openConnections: () => number) {
    const registers = [registry];
    const routeLabels = ["route", "service"];
    this.#requests = new Counter({
      name: "gatehouse_requests_total",
      help: "Requests answered, by route, service, method and status class.",
      labelNames: [...routeLabels, "method", "status_class"],
      registers,
    });
    this.#duration = new Histogram({
      name: "gatehouse_request_duration_seconds",
      help: "Time from the request's headers to the end of the response, as the gateway saw it.",
      labelNames: routeLabels,
      buckets: durationBuckets,
      registers,
    });
    this.#upstreamDuration = new Histogram({
      name: "gatehouse_upstream_duration_seconds",
      help: "Time from sending the request upstream (first try) to the end of the upstream's response.",
      labelNames: routeLabels,
      buckets: durationBuckets,
      registers,
    });
    this.#bytesIn = new Counter({
      name: "gatehouse_request_bytes_total",
      help: "Request body bytes received from clients.",
      labelNames: routeLabels,
      registers,
    });
    this.#bytesOut = new Counter({
      name: "gatehouse_response_bytes_total",
      help: "Response body bytes sent to clients.",
      labelNames: routeLabels,
      registers,
    });
    this.#retries = new Counter({
      name: "gatehouse_upstream_retries_total",
      help: "Tries sent again to a target after a failed one.",
      labelNames: routeLabels,
      registers,
    });
    this.#errors = new Counter({
      name: "gatehouse_errors_total",
      help: "Requests the gateway answered with one of its own error codes (see docs/errors.md), by code.",
      labelNames: [...routeLabels, "code"],
      registers,
    });
    this.#inFlight = new Gauge({
      name: "gatehouse_requests_in_flight",
      help: "Requests received and not finished yet.",
      registers,
    });
    new Gauge({
      name: "gatehouse_connections_open",
      help: "Client connections open on the proxy listeners.",
      registers,
      collect() {
        this.set(openConnections());
      },
    });
  }

  started(): void {
    this.#inFlight.inc();
  }

  finished(res: GatewayResponse): void {
    this.#inFlight.dec();
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
      requests = this.#requests.labels(
        res.route,
        res.service,
        methods[method]!,
        statusClasses[statusClass]!,
      );
      series.requests[slot] = requests;
    }
    requests.inc();
    const now = performance.now();
    series.duration.observe((now - res.startedAt) / 1000);
    if (res.upstreamStartedAt > 0) {
      const ended = res.upstreamEndedAt || now;
      series.upstreamDuration.observe((ended - res.upstreamStartedAt) / 1000);
    }
    const length = res.req.headers["content-length"];
    if (length !== undefined) series.bytesIn.inc(Number(length) || 0);
    if (res.bytesOut > 0) series.bytesOut.inc(res.bytesOut);
    if (res.retries > 0) series.retries.inc(res.retries);
    if (res.errorCode !== "") {
      let errors = series.errors.get(res.errorCode);
      if (errors === undefined) {
        errors = this.#errors.labels(res.route, res.service, res.errorCode);
        series.errors.set(res.errorCode, errors);
      }
      errors.inc();
    }
  }

  #newSeries(route: string, service: string): RouteSeries {
    const series: RouteSeries = {
      service,
      requests: [],
      duration: this.#duration.labels(route, service),
      upstreamDuration: this.#upstreamDuration.labels(route, service),
      bytesIn: this.#bytesIn.labels(route, service),
      bytesOut: this.#bytesOut.labels(route, service),
      retries: this.#retries.labels(route, service),
      errors: new Map(),
    };
    // Zero from the first request on, so rate() and increase() see the first increments.
    for (const counter of [series.bytesIn, series.bytesOut, series.retries]) counter.inc(0);
    this.#series.set(route, series);
    return series;
  }
}
