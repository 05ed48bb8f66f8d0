// @module admin/ui/pages/overview
// The Overview page: the gateway's traffic over the last 15 minutes (GET /stats once, then
// each event of /stats/stream) as figures with sparklines, tables by route and by service,
// each service's upstream availability, and the config serving. Everything is built once
// and then updated in place on each tick, so nothing moves while a person reads it.
import { api, stream } from "../api.js";
import { badge, formatCount, formatDecimal, formatTime, h, replace } from "../dom.js";
import { availability, liveAlert } from "../live-status.js";
import { liveTable, setText } from "../live-table.js";
import { sparkline } from "../sparkline.js";

/** How long to wait before opening the stream again after it ended or failed. */
const reconnectMs = 2_000;
/** The "now" figures (requests/s) are the average over this last stretch. */
const recentMs = 60_000;

const percent = (part, whole) => (whole === 0 ? null : (part / whole) * 100);
const formatPercent = (value) => (value === null ? "–" : `${formatDecimal(value)} %`);
const formatMs = (value) => (value === null ? "–" : `${formatDecimal(value)} ms`);

/**
 * The figures, each with how it reads from the stats: `value(stats)` for the big number,
 * `caption(stats)` under it, `series(bucket)` for the sparkline (one point per bucket;
 * `gaps`: a bucket without requests has no point, rather than a zero).
 */
const figures = [
  {
    id: "rps",
    label: "Requests/s",
    value: (stats) => formatDecimal(recentRate(stats.buckets, stats.window.to)),
    caption: (stats) => `last minute · ${formatCount(stats.totals.requests)} in 15 min`,
    series: (bucket, seconds) => bucket.requests / seconds,
  },
  {
    id: "errors",
    label: "Error rate",
    kind: "bad",
    gaps: true,
    value: (stats) => formatPercent(percent(stats.totals.errors, stats.totals.requests)),
    caption: (stats) => `${formatCount(stats.totals.errors)} answers with a 5xx`,
    series: (bucket) => percent(bucket.errors, bucket.requests),
  },
  {
    id: "p50",
    label: "Latency p50",
    gaps: true,
    value: (stats) => formatMs(stats.totals.p50Ms),
    caption: () => "median, 15 min",
    series: (bucket) => bucket.p50Ms,
  },
  {
    id: "p99",
    label: "Latency p99",
    kind: "warn",
    gaps: true,
    value: (stats) => formatMs(stats.totals.p99Ms),
    caption: () => "99th percentile, 15 min",
    series: (bucket) => bucket.p99Ms,
  },
  {
    id: "limited",
    label: "Rate-limited",
    kind: "warn",
    value: (stats) => formatCount(stats.totals.rateLimited),
    caption: () => "429 refusals, 15 min",
    series: (bucket) => bucket.rateLimited,
  },
  {
    id: "auth",
    label: "Auth refused",
    kind: "warn",
    value: (stats) => formatCount(stats.totals.authRefused),
    caption: () => "401/403 refusals, 15 min",
    series: (bucket) => bucket.authRefused,
  },
];

/** Requests per second over the last minute of `buckets` (a window ending at `to`). */
function recentRate(buckets, to) {
  const end = Date.parse(to);
  let requests = 0;
  for (const bucket of buckets)
    if (Date.parse(bucket.start) >= end - recentMs) requests += bucket.requests;
  return requests / (recentMs / 1000);
}

const trafficColumns = [
  { label: "Name" },
  { label: "Requests", number: true },
  { label: "Req/s (1 min)", number: true },
  { label: "Errors", number: true },
  { label: "Error rate", number: true },
  { label: "p50", number: true },
  { label: "p99", number: true },
  { label: "Rate-limited", number: true },
  { label: "Auth refused", number: true },
];

/** A route's or a service's row in a traffic table. */
function trafficRow(entry, to) {
  return {
    key: entry.name,
    cells: [
      entry.name,
      formatCount(entry.requests),
      formatDecimal(recentRate(entry.buckets, to)),
      formatCount(entry.errors),
      formatPercent(percent(entry.errors, entry.requests)),
      formatMs(entry.p50Ms),
      formatMs(entry.p99Ms),
      formatCount(entry.rateLimited),
      formatCount(entry.authRefused),
    ],
  };
}

const byName = (a, b) => a.name.localeCompare(b.name);

export default {
  id: "overview",
  title: "Overview",
  async render(view, ctx) {
    const status = h("span", { className: "live-status" }, badge("off", "connecting"));
    const version = h("span", { className: "figure-inline" }, "–");
    const applied = h("span", { className: "figure-inline" }, "–");
    const cards = figures.map((figure) => {
      const value = h("div", { className: "figure", "data-figure": figure.id }, "–");
      const caption = h("div", { className: "muted caption" }, "");
      const chart = sparkline(`${figure.label} over the last 15 minutes`, { kind: figure.kind });
      const card = h(
        "section",
        { className: "card stat", "aria-label": figure.label },
        h("h2", { className: "stat-label" }, figure.label),
        value,
        chart.element,
        caption,
      );
      return { figure, card, value, caption, chart };
    });
    const routes = liveTable({
      label: "Traffic by route",
      columns: trafficColumns,
      empty: "No route has answered a request in the last 15 minutes.",
      search: "Search routes",
    });
    const services = liveTable({
      label: "Traffic by service",
      columns: trafficColumns,
      empty: "No service has had a request in the last 15 minutes.",
      search: "Search services",
    });
    const upstreams = liveTable({
      label: "Upstream availability",
      columns: [
        { label: "Service" },
        { label: "Available" },
        { label: "Healthy", number: true },
        { label: "Targets", number: true },
      ],
      empty: "No service is configured.",
    });
    const problem = h("div", { className: "live-problem" });
    replace(
      view,
      h("div", { className: "page-head" }, h("h1", {}, "Overview"), status),
      h(
        "p",
        { className: "config-line", "aria-live": "off" },
        "Config version ",
        version,
        " · last reload ",
        applied,
      ),
      problem,
      // The figures change every 2 seconds: a screen reader is not told each time (the
      // view is a polite live region for page changes); it reads them when asked.
      h(
        "div",
        { "aria-live": "off" },
        h(
          "div",
          { className: "cards stats" },
          cards.map((card) => card.card),
        ),
        h("h2", {}, "Upstreams"),
        upstreams.element,
        h("h2", {}, "By route"),
        routes.element,
        h("h2", {}, "By service"),
        services.element,
      ),
    );

    /** Shows one stats body: every part updated in place. */
    const show = (stats) => {
      const seconds = stats.window.bucketSeconds;
      for (const { figure, value, caption, chart } of cards) {
        setText(value, figure.value(stats));
        setText(caption, figure.caption(stats));
        chart.update(
          stats.buckets.map((bucket) =>
            figure.gaps && bucket.requests === 0 ? null : figure.series(bucket, seconds),
          ),
        );
      }
      setText(version, String(stats.config.version));
      setText(applied, formatTime(stats.config.appliedAt));
      applied.setAttribute("title", stats.config.appliedAt);
      const to = stats.window.to;
      routes.set([...stats.routes].sort(byName).map((entry) => trafficRow(entry, to)));
      services.set([...stats.services].sort(byName).map((entry) => trafficRow(entry, to)));
      upstreams.set(
        [...stats.upstreams]
          .sort((a, b) => a.service.localeCompare(b.service))
          .map((upstream) => ({
            key: upstream.service,
            cells: [
              {
                href: `#/upstreams/${encodeURIComponent(upstream.service)}`,
                text: upstream.service,
              },
              availability(upstream),
              formatCount(upstream.healthy),
              formatCount(upstream.total),
            ],
          })),
      );
    };
    const setStatus = (kind, text) => {
      const current = status.firstElementChild;
      if (current?.textContent !== text) replace(status, badge(kind, text));
    };

    show((await api("/stats", { signal: ctx.signal })).body);
    setStatus("ok", "live");
    // The stream sends the stats every 2 seconds; when it ends (the gateway restarted) or
    // fails, the page says so and opens it again.
    while (!ctx.signal.aborted) {
      try {
        await stream(
          "/stats/stream",
          (name, data) => {
            if (name !== "stats") return;
            show(data);
            setStatus("ok", "live");
            replace(problem);
          },
          ctx.signal,
        );
        if (ctx.signal.aborted) return;
        setStatus("warn", "reconnecting");
      } catch (error) {
        if (ctx.signal.aborted) return;
        setStatus("warn", "reconnecting");
        replace(problem, liveAlert(error));
      }
      await new Promise((resolve) => setTimeout(resolve, reconnectMs));
    }
  },
};
