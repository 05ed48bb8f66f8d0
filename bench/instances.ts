/**
 * @module bench/instances
 * One service of 1,000 targets (bench/instances-upstream) behind 10,000 routes, run by
 * the CLI as users run it (metrics on, access log to a file, active HTTP health checks
 * every 5 s): the time from spawn to listening and ready, memory, request latency under
 * wrk through the 1,000-target service, and what probing costs: the gateway's CPU over
 * an idle window with probing on, minus the same window of a second gateway with probing
 * off, as a share of one core. `npm run bench -- --only instances`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { routePath } from "./configs.ts";
import { type Fleet, startFleet } from "./instances-upstream.ts";
import type { BenchOptions } from "./options.ts";
import { measuredCore, setAffinity } from "./pinning.ts";
import {
  type Child,
  cpuSeconds,
  freePort,
  startChild,
  stopChild,
  waitForListening,
} from "./processes.ts";
import type { Check } from "./report.ts";
import { formatColumns } from "./table.ts";
import { runWrk, type WrkResult } from "./wrk.ts";

/** Its `--only` name. */
export const instancesBenchName = "instances";

const cli = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const targetCount = 1_000;
const routeCount = 10_000;
/** The probing a user would configure for a fleet this size. */
const probing = { interval: 5, jitter: 1, timeout: 2 };
/** Idle seconds whose CPU is measured, after `settleMs` for start-up work to finish. */
const idleSeconds = 30;
const settleMs = 5_000;
const maxProbeShare = 0.05;

/** One gateway process: how it started and what it cost idle. */
export interface GatewayRun {
  probing: boolean;
  /** Spawn → the proxy port accepts; spawn → `/ready` answers 200. */
  listeningMs: number;
  readyMs: number;
  /** After start and settling, before any load. */
  rssMiB: number;
  heapUsedMiB: number | undefined;
  /** CPU over the idle window, as a share of one core. */
  idleCpuShare: number;
  /** Probes counted by the gateway's metrics over the idle window, per second. */
  probesPerSecond: number | undefined;
}

export interface InstancesResults {
  targets: number;
  routes: number;
  healthCheck: typeof probing;
  idleSeconds: number;
  pinned: boolean;
  on: GatewayRun;
  off: GatewayRun;
  /** wrk through the 1,000-target service (probing on). */
  load: WrkResult;
  /** The gateway's CPU during the wrk run over the requests (probing included). */
  cpuPerRequestUs: number;
  rssAfterLoadMiB: number;
  /** The probing's share of a core: on minus off. */
  probeCpuShare: number;
}

/** Starts the 1,000 targets, then a gateway with probing and one without. */
export async function measureInstances(
  dir: string,
  options: BenchOptions,
): Promise<InstancesResults> {
  const fleet = await startFleet(dir, targetCount);
  console.log(`instances: ${targetCount} targets listening; starting the gateways (~2 min)`);
  try {
    let load: WrkResult | undefined;
    let rssAfterLoadMiB = 0;
    let cpuPerRequestUs = 0;
    const on = await runGateway(dir, fleet, true, options, async (child, url) => {
      const wrk = { threads: options.threads, connections: options.connections };
      if (options.warmup > 0) await runWrk(url, { ...wrk, seconds: options.warmup });
      const cpuBefore = cpuSeconds(child.process.pid)!;
      load = await runWrk(url, { ...wrk, seconds: options.duration });
      cpuPerRequestUs = ((cpuSeconds(child.process.pid)! - cpuBefore) * 1e6) / load.requests;
      rssAfterLoadMiB = rssMiB(child.process.pid!);
    });
    console.log(`instances: probing on: ${describe(on)}`);
    const off = await runGateway(dir, fleet, false, options);
    console.log(`instances: probing off: ${describe(off)}`);
    return {
      targets: targetCount,
      routes: routeCount,
      healthCheck: probing,
      idleSeconds,
      pinned: options.pinned,
      on,
      off,
      load: load!,
      cpuPerRequestUs,
      rssAfterLoadMiB,
      probeCpuShare: on.idleCpuShare - off.idleCpuShare,
    };
  } finally {
    await fleet.stop();
  }
}

async function runGateway(
  dir: string,
  fleet: Fleet,
  withProbing: boolean,
  options: BenchOptions,
  afterIdle?: (child: Child, url: string) => Promise<void>,
): Promise<GatewayRun> {
  const [port, statusPort] = [await freePort(), await freePort()];
  const config = writeConfig(dir, fleet.urls, port, statusPort, withProbing);
  const started = performance.now();
  const child = startChild(`gatehouse-instances-${withProbing ? "on" : "off"}`, process.execPath, [
    cli,
    "start",
    "-c",
    config,
  ]);
  try {
    if (options.pinned) setAffinity(child.process.pid, measuredCore);
    await waitForListening(child, port, 120_000);
    const listeningMs = performance.now() - started;
    const status = `http://127.0.0.1:${statusPort}`;
    await waitForReady(child, status, 120_000);
    const readyMs = performance.now() - started;
    // Again, now that every thread it starts at start-up exists.
    if (options.pinned) setAffinity(child.process.pid, measuredCore);
    await sleep(settleMs);
    const pid = child.process.pid!;
    const memory = { rssMiB: rssMiB(pid), heapUsedMiB: await heapUsedMiB(status) };
    const probesBefore = withProbing ? await probesCounted(status) : 0;
    const cpuBefore = cpuSeconds(pid)!;
    const windowStart = performance.now();
    await sleep(idleSeconds * 1_000);
    const elapsed = (performance.now() - windowStart) / 1_000;
    const idleCpuShare = (cpuSeconds(pid)! - cpuBefore) / elapsed;
    const probesAfter = withProbing ? await probesCounted(status) : 0;
    await afterIdle?.(child, `http://127.0.0.1:${port}/svc7000/items/42`);
    return {
      probing: withProbing,
      listeningMs,
      readyMs,
      ...memory,
      idleCpuShare,
      probesPerSecond: withProbing ? (probesAfter - probesBefore) / elapsed : undefined,
    };
  } finally {
    await stopChild(child);
  }
}

function writeConfig(
  dir: string,
  urls: string[],
  port: number,
  statusPort: number,
  withProbing: boolean,
): string {
  const lines = [
    `# Generated by bench/instances.ts: ${urls.length} targets, ${routeCount} routes, probing ${withProbing ? "on" : "off"}.`,
    "gateway:",
    `  listen: [{ host: 127.0.0.1, port: ${port} }]`,
    `  status: { host: 127.0.0.1, port: ${statusPort} }`,
    `  accessLog: { destination: ${join(dir, `instances-${withProbing ? "on" : "off"}-access.log`)} }`,
    "services:",
    "  - name: fleet",
    "    targets:",
    ...urls.map((url) => `      - { url: "${url}" }`),
    ...(withProbing
      ? [
          "    healthCheck:",
          `      active: { type: http, path: /health, interval: ${probing.interval}s, jitter: ${probing.jitter}s, timeout: ${probing.timeout}s }`,
        ]
      : []),
    "routes:",
  ];
  for (let i = 0; i < routeCount; i++)
    lines.push(
      `  - { name: route-${i}, service: fleet, match: { paths: ["${routePath(i, routeCount)}"], methods: [GET, POST] } }`,
    );
  const file = join(dir, `instances-${withProbing ? "on" : "off"}.yaml`);
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

async function waitForReady(child: Child, status: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.process.exitCode !== null)
      throw new Error(`${child.name} exited before ready:\n${child.output()}`);
    try {
      const res = await fetch(`${status}/ready`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await sleep(20);
  }
  throw new Error(`${child.name} not ready within ${timeoutMs} ms:\n${child.output()}`);
}

/** The gateway's metrics page (prom-client text). */
async function metrics(status: string): Promise<string> {
  // Generous: a gateway on a busy machine can take seconds to render a thousand targets' series.
  const res = await fetch(`${status}/metrics`, { signal: AbortSignal.timeout(60_000) });
  return res.text();
}

async function heapUsedMiB(status: string): Promise<number | undefined> {
  const line = (await metrics(status))
    .split("\n")
    .find((text) => text.startsWith("nodejs_heap_size_used_bytes "));
  return line ? Number(line.split(" ")[1]) / 2 ** 20 : undefined;
}

/** Every probe the gateway has counted so far, over all targets and results. */
async function probesCounted(status: string): Promise<number> {
  let total = 0;
  for (const line of (await metrics(status)).split("\n"))
    if (line.startsWith("gatehouse_health_checks_total{")) total += Number(line.split(" ").at(-1));
  return total;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kib / 1024;
}

const describe = (run: GatewayRun) =>
  `ready in ${(run.readyMs / 1_000).toFixed(2)} s, idle CPU ${percent(run.idleCpuShare)} of a core`;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const mib = (value: number | undefined) => (value === undefined ? "-" : `${value.toFixed(0)} MiB`);
const percent = (share: number) => `${(share * 100).toFixed(2)}%`;

export function formatInstancesTable(r: InstancesResults): string {
  const runs = formatColumns(
    ["instances gateway", "listening", "ready", "RSS", "heap used", "idle CPU", "probes/s"],
    [r.on, r.off].map((run) => [
      `${r.targets.toLocaleString("en-US")} targets, ${r.routes.toLocaleString("en-US")} routes, probing ${run.probing ? `every ${r.healthCheck.interval} s` : "off"}`,
      `${(run.listeningMs / 1_000).toFixed(2)} s`,
      `${(run.readyMs / 1_000).toFixed(2)} s`,
      mib(run.rssMiB),
      mib(run.heapUsedMiB),
      `${percent(run.idleCpuShare)} of a core`,
      run.probesPerSecond === undefined ? "-" : run.probesPerSecond.toFixed(0),
    ]),
  );
  const l = r.load;
  return [
    runs,
    "",
    `instances: through the ${r.targets.toLocaleString("en-US")}-target service (probing on): ` +
      `${Math.round(l.requestsPerSecond).toLocaleString("en-US")} req/s, p50 ${l.p50.toFixed(2)} ms, ` +
      `p99 ${l.p99.toFixed(2)} ms, ${r.cpuPerRequestUs.toFixed(1)} µs CPU/request, ${l.non2xx} non-2xx, ${l.socketErrors} socket errors; RSS after load ${mib(r.rssAfterLoadMiB)}`,
    `instances: health probing costs ${percent(r.probeCpuShare)} of a core ` +
      `(${r.idleSeconds} s idle windows, on minus off${r.pinned ? ", gateway pinned to core 0" : ""})`,
  ].join("\n");
}

export function instancesChecks(r: InstancesResults | undefined): Check[] {
  if (!r) return [];
  const claim = "Health probing of 1,000 targets every 5 s < 5% of a core";
  const rate = r.on.probesPerSecond ?? 0;
  // A window with (almost) no probes proves nothing about their cost.
  const probed = rate >= (0.8 * r.targets) / (r.healthCheck.interval + r.healthCheck.jitter);
  return [
    {
      claim,
      verdict: !probed ? "FAIL" : r.probeCpuShare < maxProbeShare ? "PASS" : "FAIL",
      detail:
        `${percent(r.probeCpuShare)} of a core (${percent(r.on.idleCpuShare)} probing, ` +
        `${percent(r.off.idleCpuShare)} not, over ${r.idleSeconds} s), ${rate.toFixed(0)} probes/s` +
        (probed ? "" : ", fewer probes than configured"),
    },
  ];
}
