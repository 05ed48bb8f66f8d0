/**
 * @module bench/soak-samples
 * One row per sampling interval of a soak run, and the CSV it is written as.
 */

export interface SoakSample {
  /** Seconds since the traffic started, at the end of the interval. */
  t: number;
  rssMiB: number;
  heapUsedMiB: number;
  fds: number;
  openConnections: number;
  webSocketTunnels: number;
  healthyTargets: number;
  /** Targets running at the end of the interval (the soak's own count). */
  targetsUp: number;
  configVersion: number;
  /** Config versions applied during the interval. */
  reloads: number;
  /** HTTP requests that finished in the interval, and their latency. */
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Right answers that refuse on purpose (401 without a key, 429, 404). */
  refused: number;
  /** Requests not sent because the in-flight cap was reached. */
  skipped: number;
  webSocketEchoes: number;
  /** Wrong answers, failed requests and broken tunnels within the grace after a kill. */
  errorsDuringKill: number;
  /** The same, anywhere else: what the retries and health checks should have hidden. */
  errors: number;
  /** The machine's 1-minute load average. */
  load1: number;
}

export const sampleColumns = [
  "t",
  "rssMiB",
  "heapUsedMiB",
  "fds",
  "openConnections",
  "webSocketTunnels",
  "healthyTargets",
  "targetsUp",
  "configVersion",
  "reloads",
  "requests",
  "p50Ms",
  "p99Ms",
  "maxMs",
  "refused",
  "skipped",
  "webSocketEchoes",
  "errorsDuringKill",
  "errors",
  "load1",
] as const satisfies readonly (keyof SoakSample)[];

/** The samples as CSV with a header line; numbers rounded to 0.01, unreadable ones empty. */
export function samplesCsv(samples: readonly SoakSample[]): string {
  const lines = [sampleColumns.join(",")];
  for (const sample of samples) {
    lines.push(
      sampleColumns
        .map((column) => {
          const value = sample[column];
          return Number.isFinite(value) ? String(Math.round(value * 100) / 100) : "";
        })
        .join(","),
    );
  }
  return `${lines.join("\n")}\n`;
}
