/**
 * @module bench/soak-plot
 * Draws a soak run as one SVG of stacked line charts sharing the time axis: memory,
 * open file descriptors, latency and errors per interval, with the times a target was
 * down shaded. Hand-written: a few polylines need no charting library.
 */
import type { SoakSample } from "./soak-samples.ts";

/** A time a target was down, in seconds since the traffic started. */
export interface DownTime {
  from: number;
  to: number;
}

interface Series {
  key: keyof SoakSample;
  label: string;
  colour: string;
}

interface Panel {
  title: string;
  series: Series[];
}

const panels: Panel[] = [
  {
    title: "Gateway memory (MiB)",
    series: [
      { key: "rssMiB", label: "RSS", colour: "#1f77b4" },
      { key: "heapUsedMiB", label: "heap used", colour: "#ff7f0e" },
    ],
  },
  {
    title: "Gateway open file descriptors",
    series: [{ key: "fds", label: "fds", colour: "#2ca02c" }],
  },
  {
    title: "HTTP latency per interval (ms)",
    series: [
      { key: "p99Ms", label: "p99", colour: "#d62728" },
      { key: "p50Ms", label: "p50", colour: "#9467bd" },
    ],
  },
  {
    title: "Errors per interval",
    series: [
      { key: "errors", label: "outside kills", colour: "#d62728" },
      { key: "errorsDuringKill", label: "just after a kill", colour: "#8c564b" },
    ],
  },
];

const width = 960;
const panelHeight = 170;
const margin = { left: 64, right: 20, top: 34, bottom: 26 };
const titleHeight = 40;

/** The SVG text of the run's chart. */
export function soakSvg(samples: readonly SoakSample[], down: readonly DownTime[], title: string) {
  const lastT = Math.max(1, ...samples.map((sample) => sample.t));
  const plotWidth = width - margin.left - margin.right;
  const x = (t: number) => margin.left + (t / lastT) * plotWidth;
  const height = titleHeight + panels.length * (panelHeight + margin.top + margin.bottom);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${margin.left}" y="24" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  panels.forEach((panel, index) => {
    const top = titleHeight + index * (panelHeight + margin.top + margin.bottom) + margin.top;
    const bottom = top + panelHeight;
    const values = panel.series.flatMap((s) => samples.map((sample) => sample[s.key]));
    const max = niceCeiling(Math.max(1, ...values.filter(Number.isFinite)));
    const y = (value: number) => bottom - (value / max) * panelHeight;
    parts.push(`<g data-panel="${escapeXml(panel.title)}">`);
    parts.push(
      `<text x="${margin.left}" y="${top - 10}" font-weight="bold">${escapeXml(panel.title)}</text>`,
    );
    for (const range of down) {
      parts.push(
        `<rect x="${f(x(range.from))}" y="${top}" width="${f(Math.max(1, x(range.to) - x(range.from)))}" height="${panelHeight}" fill="#f4cccc"/>`,
      );
    }
    for (let tick = 0; tick <= 4; tick++) {
      const value = (max * tick) / 4;
      parts.push(
        `<line x1="${margin.left}" x2="${width - margin.right}" y1="${f(y(value))}" y2="${f(y(value))}" stroke="#ddd"/>`,
        `<text x="${margin.left - 6}" y="${f(y(value) + 4)}" text-anchor="end">${formatTick(value)}</text>`,
      );
    }
    for (const t of timeTicks(lastT)) {
      parts.push(
        `<text x="${f(x(t))}" y="${bottom + 16}" text-anchor="middle">${formatTime(t)}</text>`,
      );
    }
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left}" y1="${top}" y2="${bottom}" stroke="#333"/>`,
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`,
    );
    panel.series.forEach((series, n) => {
      const points = samples
        .filter((sample) => Number.isFinite(sample[series.key]))
        .map((sample) => `${f(x(sample.t))},${f(y(sample[series.key]))}`);
      parts.push(
        `<polyline data-series="${series.key}" points="${points.join(" ")}" fill="none" stroke="${series.colour}" stroke-width="1.5"/>`,
      );
      const legendX = width - margin.right - 150 * (panel.series.length - n);
      parts.push(
        `<line x1="${legendX}" x2="${legendX + 18}" y1="${top - 14}" y2="${top - 14}" stroke="${series.colour}" stroke-width="3"/>`,
        `<text x="${legendX + 24}" y="${top - 10}">${escapeXml(series.label)}</text>`,
      );
    });
    parts.push("</g>");
  });
  parts.push(
    `<text x="${width - margin.right}" y="${height - 6}" text-anchor="end" fill="#666">time since the traffic started; shaded: a target killed and not yet started again</text>`,
    "</svg>",
  );
  return `${parts.join("\n")}\n`;
}

/** 1, 2 or 5 times a power of ten, at least `value`. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/** About six time ticks at a round step. */
function timeTicks(lastT: number): number[] {
  const steps = [5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const step = steps.find((s) => lastT / s <= 6) ?? 3600;
  const ticks: number[] = [];
  for (let t = 0; t <= lastT; t += step) ticks.push(t);
  return ticks;
}

function formatTime(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  return `${Math.round(seconds / 60)}m`;
}

function formatTick(value: number): string {
  return value >= 100 || Number.isInteger(value) ? String(Math.round(value)) : value.toFixed(1);
}

function f(value: number): string {
  return value.toFixed(1);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
