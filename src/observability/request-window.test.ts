// The rolling request window: counts land in the bucket of their time, a bucket that comes
// round again starts from zero, threads' windows add up, and p50/p99 come from the bins.
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { describe, it } from "node:test";
import { quantile } from "../admin/stats-view.ts";
import {
  bucketCount,
  bucketMs,
  field,
  fieldCount,
  mergeWindows,
  RequestWindow,
} from "./request-window.ts";

/** performance.now() at the start of wall-clock bucket `bucket`, plus `ms`. */
const at = (bucket: number, ms = 0) => bucket * bucketMs + ms - performance.timeOrigin;
const end = 400_000_000;
const count = (counts: Uint32Array, index: number, name: keyof typeof field) =>
  counts[index * fieldCount + field[name]];

describe("request window", () => {
  it("counts requests, 5xx errors and refusals in the bucket of their time", () => {
    const window = new RequestWindow();
    const series = window.series("r", "s");
    series.record(at(end, 10), 200, "", 3);
    series.record(at(end, 20), 502, "GATEHOUSE_UPSTREAM_CONNECT_FAILED", 40);
    series.record(at(end - 1), 429, "GATEHOUSE_RATE_LIMITED", 0.2);
    series.record(at(end - 1), 401, "GATEHOUSE_UNAUTHORIZED", 0.3);
    const [only] = window.snapshot(end).series;
    assert.equal(only!.route, "r");
    const last = bucketCount - 1;
    assert.equal(count(only!.counts, last, "requests"), 2);
    assert.equal(count(only!.counts, last, "errors"), 1);
    assert.equal(count(only!.counts, last - 1, "rateLimited"), 1);
    assert.equal(count(only!.counts, last - 1, "authRefused"), 1);
    assert.equal(count(only!.counts, last - 1, "errors"), 0);
  });

  it("forgets a bucket older than the window when its slot comes round again", () => {
    const window = new RequestWindow();
    const series = window.series("r", "s");
    series.record(at(end - bucketCount), 200, "", 1);
    assert.equal(window.snapshot(end).series.length, 0, "15 minutes and 5 seconds ago");
    series.record(at(end), 200, "", 1);
    const counts = window.snapshot(end).series[0]!.counts;
    assert.equal(count(counts, bucketCount - 1, "requests"), 1);
  });

  it("adds up the windows of several threads", () => {
    const one = new RequestWindow();
    const two = new RequestWindow();
    one.series("r", "s").record(at(end), 200, "", 1);
    two.series("r", "s").record(at(end), 500, "", 1);
    two.series("q", "s").record(at(end), 200, "", 1);
    const merged = mergeWindows(end, [one.snapshot(end), two.snapshot(end)]);
    const r = merged.series.find((series) => series.route === "r")!;
    assert.equal(count(r.counts, bucketCount - 1, "requests"), 2);
    assert.equal(count(r.counts, bucketCount - 1, "errors"), 1);
    assert.equal(merged.series.length, 2);
  });

  it("estimates quantiles within the bin they fall in", () => {
    // 1 ms bins: ≤1, ≤2.5, ≤5, …; 100 requests, 50 of them ≤1 ms and 50 in (1, 2.5].
    const bins = [50, 50, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    assert.equal(quantile(bins, 0.5), 1);
    assert.equal(quantile(bins, 0.99), 2.47);
    assert.equal(quantile(new Array(14).fill(0), 0.5), null);
    const slow = [...new Array(13).fill(0), 3];
    assert.equal(quantile(slow, 0.99), 10000);
  });
});
