/**
 * @module bench/wrk
 * Runs wrk against one URL and reads its numbers from the JSON line printed by
 * wrk-report.lua: requests per second, latency percentiles, and every kind of error.
 */
import { fileURLToPath } from "node:url";
import { startChild } from "./processes.ts";

const reportScript = fileURLToPath(new URL("./wrk-report.lua", import.meta.url));

/** How hard and how long to load a target. */
export interface Load {
  threads: number;
  connections: number;
  seconds: number;
  /** Request headers every request carries, as `Name: value`. */
  headers?: readonly string[];
}

/** One wrk run, as measured. Latencies are in milliseconds. */
export interface WrkResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** Responses with a status of 400 or more (wrk counts these as `status` errors). */
  non2xx: number;
  /** Connect, read and write errors and timeouts. */
  socketErrors: number;
  errors: { connect: number; read: number; write: number; timeout: number; status: number };
}

interface WrkReport {
  requests: number;
  durationUs: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  meanUs: number;
}

/** Loads `url` for `load.seconds`; fails if wrk fails or runs far past its duration. */
export async function runWrk(url: string, load: Load): Promise<WrkResult> {
  const args = [
    `-t${load.threads}`,
    `-c${load.connections}`,
    `-d${load.seconds}s`,
    "--latency",
    ...(load.headers ?? []).flatMap((header) => ["-H", header]),
    "-s",
    reportScript,
    url,
  ];
  const wrk = startChild("wrk", "wrk", args);
  const guard = setTimeout(() => wrk.process.kill("SIGKILL"), (load.seconds + 30) * 1_000);
  await wrk.exited;
  clearTimeout(guard);
  const line = wrk
    .output()
    .split("\n")
    .find((text) => text.startsWith("BENCH_JSON "));
  if (wrk.process.exitCode !== 0 || !line)
    throw new Error(`wrk ${args.join(" ")} failed:\n${wrk.output()}`);
  return toResult(JSON.parse(line.slice("BENCH_JSON ".length)) as WrkReport);
}

function toResult(report: WrkReport): WrkResult {
  const seconds = report.durationUs / 1e6;
  const errors = {
    connect: report.connect,
    read: report.read,
    write: report.write,
    timeout: report.timeout,
    status: report.status,
  };
  return {
    requests: report.requests,
    seconds,
    requestsPerSecond: report.requests / seconds,
    p50: report.p50Us / 1_000,
    p90: report.p90Us / 1_000,
    p99: report.p99Us / 1_000,
    max: report.maxUs / 1_000,
    mean: report.meanUs / 1_000,
    non2xx: report.status,
    socketErrors: report.connect + report.read + report.write + report.timeout,
    errors,
  };
}
