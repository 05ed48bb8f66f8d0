/**
 * @module admin/stats-view
 * The JSON of `GET /stats` (and each event of `/stats/stream`): the request window of every
 * thread that serves (observability/request-window) summed per bucket, per route and per
 * service, with p50/p99 estimated from each bucket's latency histogram; beside it each
 * service's upstream availability and the config serving.
 */

import {
  bucketCount,
  bucketMs,
  field,
  fieldCount,
  latencyBoundsMs,
  type WindowSnapshot,
} from "../observability/request-window.ts";
import type { Runtime } from "../runtime/runtime.ts";

/** The figures of a bucket, a route, a service or the whole window. */
export interface StatsFigures {
  requests: number;
  /** Answers with a 5xx status: the upstream's, and the gateway's own (502, 503, 504). */
  errors: number;
  /** Refused by rate-limit or concurrency-limit (429). */
  rateLimited: number;
  /** Refused by an authentication or authorization plugin (401, 403). */
  authRefused: number;
  /** Estimated from the histogram; null without requests. */
  p50Ms: number | null;
  p99Ms: number | null;
}

type Bucket = StatsFigures & { start: string };

/** The config serving, as the stats show it. */
export interface ServingConfig {
  version: number;
  hash: string;
  appliedAt: Date;
}

/** The stats body for `window`, the services of `runtime` and the config serving. */
export function viewStats(window: WindowSnapshot, runtime: Runtime, config: ServingConfig) {
  const first = window.end - bucketCount + 1;
  const all = sumOf(window.series.map((series) => series.counts));
  const byRoute = group(window, (series) => series.route);
  const byService = group(window, (series) => series.service);
  const entries = (groups: Map<string, Uint32Array>) =>
    [...groups].map(([name, counts]) => ({
      name,
      ...figuresOf(counts, 0, bucketCount),
      buckets: bucketsOf(counts, first, true),
    }));
  return {
    generatedAt: new Date().toISOString(),
    window: {
      from: new Date(first * bucketMs).toISOString(),
      to: new Date((window.end + 1) * bucketMs).toISOString(),
      bucketSeconds: bucketMs / 1000,
      buckets: bucketCount,
    },
    config: {
      version: config.version,
      hash: config.hash,
      appliedAt: config.appliedAt.toISOString(),
    },
    totals: figuresOf(all, 0, bucketCount),
    buckets: bucketsOf(all, first, false),
    routes: entries(byRoute),
    services: entries(byService),
    upstreams: [...runtime.services.values()].map((service) => {
      let healthy = 0;
      let available = 0;
      for (const target of service.targets) {
        const clock = target.clock.now();
        if (target.health === "healthy" && target.ejectedUntil <= clock) healthy++;
        if (target.available()) available++;
      }
      return { service: service.name, healthy, available, total: service.targets.length };
    }),
  };
}

/** The counters of `window`'s series grouped by `key`, summed. */
function group(
  window: WindowSnapshot,
  key: (series: WindowSnapshot["series"][number]) => string,
): Map<string, Uint32Array> {
  const groups = new Map<string, Uint32Array[]>();
  for (const series of window.series) {
    const name = key(series);
    const list = groups.get(name);
    if (list) list.push(series.counts);
    else groups.set(name, [series.counts]);
  }
  return new Map([...groups].map(([name, list]) => [name, sumOf(list)]));
}

function sumOf(list: readonly Uint32Array[]): Uint32Array {
  if (list.length === 1) return list[0]!;
  const sum = new Uint32Array(bucketCount * fieldCount);
  for (const counts of list) for (let i = 0; i < sum.length; i++) sum[i]! += counts[i]!;
  return sum;
}

/** Each bucket's figures, oldest first; `sparse`: only those with requests. */
function bucketsOf(counts: Uint32Array, first: number, sparse: boolean): Bucket[] {
  const buckets: Bucket[] = [];
  for (let i = 0; i < bucketCount; i++) {
    if (sparse && counts[i * fieldCount + field.requests] === 0) continue;
    const start = new Date((first + i) * bucketMs).toISOString();
    buckets.push({ start, ...figuresOf(counts, i, i + 1) });
  }
  return buckets;
}

/** The figures of buckets `from` to `to` (exclusive) of `counts`. */
function figuresOf(counts: Uint32Array, from: number, to: number): StatsFigures {
  const sum = new Array<number>(fieldCount).fill(0);
  for (let i = from; i < to; i++)
    for (let f = 0; f < fieldCount; f++) sum[f]! += counts[i * fieldCount + f]!;
  const bins = sum.slice(field.firstBin);
  return {
    requests: sum[field.requests]!,
    errors: sum[field.errors]!,
    rateLimited: sum[field.rateLimited]!,
    authRefused: sum[field.authRefused]!,
    p50Ms: quantile(bins, 0.5),
    p99Ms: quantile(bins, 0.99),
  };
}

/**
 * The `q` quantile of a histogram with the bins of latencyBoundsMs, interpolated within the
 * bin it falls in (as Prometheus' histogram_quantile); the open last bin gives its lower bound.
 */
export function quantile(bins: readonly number[], q: number): number | null {
  const total = bins.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let bin = 0; bin < bins.length; bin++) {
    const count = bins[bin]!;
    if (below + count >= rank && count > 0) {
      const lower = bin === 0 ? 0 : latencyBoundsMs[bin - 1]!;
      const upper = latencyBoundsMs[bin];
      if (upper === undefined) return lower;
      return Math.round((lower + ((upper - lower) * (rank - below)) / count) * 100) / 100;
    }
    below += count;
  }
  return latencyBoundsMs.at(-1)!;
}
