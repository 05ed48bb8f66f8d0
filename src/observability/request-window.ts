/**
 * @module observability/request-window
 * The gateway's own rolling window of request metrics: the last 15 minutes in 5-second
 * buckets, per route and service, for the admin API's `GET /stats` (a dashboard that works
 * without Prometheus). Each route's counters sit in arrays allocated when the route first
 * answers; recording a request is a few increments in them, and a bucket that comes round
 * again is zeroed by the first request that lands in it.
 */
import { performance } from "node:perf_hooks";

/** How long one bucket lasts. */
export const bucketMs = 5_000;
/** Buckets kept: 15 minutes. */
export const bucketCount = 180;
/** Upper bounds (ms) of the latency histogram's bins; one more bin takes anything slower. */
export const latencyBoundsMs = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** The counters of one bucket, at these offsets; the latency bins follow `firstBin`. */
export const field = { requests: 0, errors: 1, rateLimited: 2, authRefused: 3, firstBin: 4 };
/** Counters per bucket. */
export const fieldCount = field.firstBin + latencyBoundsMs.length + 1;

/** The gateway error codes that are refusals, by the counter they go to. */
const refusals = new Map<string, number>([
  ["GATEHOUSE_RATE_LIMITED", field.rateLimited],
  ["GATEHOUSE_CONCURRENCY_LIMITED", field.rateLimited],
  ["GATEHOUSE_UNAUTHORIZED", field.authRefused],
  ["GATEHOUSE_INVALID_TOKEN", field.authRefused],
  ["GATEHOUSE_TOKEN_EXPIRED", field.authRefused],
  ["GATEHOUSE_TOKEN_CLAIMS_REJECTED", field.authRefused],
  ["GATEHOUSE_FORBIDDEN", field.authRefused],
  ["GATEHOUSE_IP_FORBIDDEN", field.authRefused],
]);

/** The bucket a wall-clock time (ms since the epoch) falls in. */
export const bucketOf = (time: number) => Math.floor(time / bucketMs);

const origin = performance.timeOrigin;

/** One route's (and service's) counters over the window. */
export class WindowSeries {
  readonly route: string;
  readonly service: string;
  /** The bucket each slot holds now. */
  readonly #buckets = new Float64Array(bucketCount).fill(-1);
  readonly #counts = new Uint32Array(bucketCount * fieldCount);

  constructor(route: string, service: string) {
    this.route = route;
    this.service = service;
  }

  /**
   * One finished request: `now` is its end (performance.now()), `status` what the client
   * got, `errorCode` the gateway's own error code ("" for none), `ms` how long it took.
   */
  record(now: number, status: number, errorCode: string, ms: number): void {
    const bucket = Math.floor((origin + now) / bucketMs);
    const slot = bucket % bucketCount;
    const at = slot * fieldCount;
    const counts = this.#counts;
    if (this.#buckets[slot] !== bucket) {
      this.#buckets[slot] = bucket;
      counts.fill(0, at, at + fieldCount);
    }
    counts[at]!++;
    if (status >= 500) counts[at + field.errors]!++;
    if (errorCode !== "") {
      const refusal = refusals.get(errorCode);
      if (refusal !== undefined) counts[at + refusal]!++;
    }
    let bin = 0;
    while (bin < latencyBoundsMs.length && ms > latencyBoundsMs[bin]!) bin++;
    counts[at + field.firstBin + bin]!++;
  }

  /**
   * The counters of the `bucketCount` buckets ending with bucket `end`, oldest first;
   * undefined when none of them has a request.
   */
  read(end: number): Uint32Array | undefined {
    let out: Uint32Array | undefined;
    for (let i = 0; i < bucketCount; i++) {
      const bucket = end - bucketCount + 1 + i;
      const slot = bucket % bucketCount;
      if (this.#buckets[slot] !== bucket) continue;
      out ??= new Uint32Array(bucketCount * fieldCount);
      const at = slot * fieldCount;
      out.set(this.#counts.subarray(at, at + fieldCount), i * fieldCount);
    }
    return out;
  }
}

/** What one thread counted over a window: each route and service's buckets, oldest first. */
export interface WindowSnapshot {
  /** The last bucket (see bucketOf). */
  end: number;
  series: { route: string; service: string; counts: Uint32Array }[];
}

/** Every series of one thread. */
export class RequestWindow {
  readonly #series = new Map<string, WindowSeries>();

  /** The series of `route` while it goes to `service` (made on first use, then kept). */
  series(route: string, service: string): WindowSeries {
    const key = `${route}\u0000${service}`;
    let series = this.#series.get(key);
    if (series === undefined) {
      series = new WindowSeries(route, service);
      this.#series.set(key, series);
    }
    return series;
  }

  /** The window ending with bucket `end` (default: the current one). */
  snapshot(end = bucketOf(Date.now())): WindowSnapshot {
    const series: WindowSnapshot["series"] = [];
    for (const one of this.#series.values()) {
      const counts = one.read(end);
      if (counts) series.push({ route: one.route, service: one.service, counts });
    }
    return { end, series };
  }
}

/** The snapshots of several threads (taken with the same `end`) added up. */
export function mergeWindows(end: number, snapshots: readonly WindowSnapshot[]): WindowSnapshot {
  const merged = new Map<string, WindowSnapshot["series"][number]>();
  for (const snapshot of snapshots)
    for (const { route, service, counts } of snapshot.series) {
      const key = `${route}\u0000${service}`;
      const known = merged.get(key);
      if (!known) merged.set(key, { route, service, counts: Uint32Array.from(counts) });
      else for (let i = 0; i < counts.length; i++) known.counts[i]! += counts[i]!;
    }
  return { end, series: [...merged.values()] };
}
