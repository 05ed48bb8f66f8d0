/**
 * @module bench/soak-run
 * One soak run: the upstream targets, a Gatehouse started by its CLI, the HTTP and
 * WebSocket traffic, the config rewritten every few seconds and a target killed and
 * started again every minute, and a sample of the gateway every interval.
 */

import { loadavg } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { freePort, startChild, stopChild, waitForListening } from "./processes.ts";
import { writeSoakConfig } from "./soak-config.ts";
import { type GatewayStats, readGatewayStats } from "./soak-gateway-stats.ts";
import { quantile, type SoakFailure, SoakLoad } from "./soak-load.ts";
import type { SoakOptions } from "./soak-options.ts";
import type { DownTime } from "./soak-plot.ts";
import type { SoakSample } from "./soak-samples.ts";
import { SoakSockets } from "./soak-sockets.ts";
import { SoakTargets } from "./soak-targets.ts";

const cli = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
/** Failures this soon after a kill are the ones a crash may cost before it is noticed. */
const killGraceMs = 5_000;

export interface SoakRun {
  samples: SoakSample[];
  failures: (SoakFailure & { duringKill: boolean })[];
  down: DownTime[];
  kills: number;
  rewrites: number;
  applied: number;
  /** Whether the gateway exited by itself on SIGTERM within its grace. */
  stoppedCleanly: boolean;
}

export async function runSoak(
  options: SoakOptions,
  print: (line: string) => void,
): Promise<SoakRun> {
  const targets = await SoakTargets.start(options.targets);
  const places = {
    file: join(options.out, "gatehouse.yaml"),
    port: await freePort(),
    statusPort: await freePort(),
    targetPorts: targets.ports,
    accessLog: join(options.out, "access.log"),
  };
  let version = 1;
  writeSoakConfig(places, version);
  const gateway = startChild("gatehouse", process.execPath, [cli, "start", "-c", places.file]);
  const statusUrl = `http://127.0.0.1:${places.statusPort}`;
  const pid = gateway.process.pid!;
  const stop = new AbortController();
  const load = new SoakLoad(`http://127.0.0.1:${places.port}`, options);
  const sockets = new SoakSockets(`ws://127.0.0.1:${places.port}/ws`, options.webSockets);
  const run: SoakRun = {
    samples: [],
    failures: [],
    down: [],
    kills: 0,
    rewrites: 0,
    applied: 0,
    stoppedCleanly: false,
  };
  const killedAt: number[] = [];
  let reloadTimer: NodeJS.Timeout | undefined;
  let chaos: Promise<void> = Promise.resolve();
  try {
    await waitForListening(gateway, places.port, 60_000);
    await waitForListening(gateway, places.statusPort, 10_000);
    const first = await readGatewayStats(pid, statusUrl);
    const started = Date.now();
    const end = started + options.durationMs;
    load.start();
    sockets.start();
    reloadTimer = setInterval(() => {
      writeSoakConfig(places, ++version);
      run.rewrites++;
    }, options.reloadEveryMs);
    chaos = killAndRevive(options, targets, started, end, stop.signal, (from, to) => {
      if (to === undefined) {
        killedAt.push(from);
        run.kills++;
      } else run.down.push({ from: (from - started) / 1000, to: (to - started) / 1000 });
    }).catch((error: Error) => print(`soak: starting a target again failed: ${error.message}`));
    let previous: GatewayStats = first;
    for (let i = 1; started + i * options.sampleEveryMs <= end; i++) {
      await sleep(started + i * options.sampleEveryMs - Date.now());
      const http = load.takeSlice();
      const ws = sockets.takeSlice();
      const stats = await readGatewayStats(pid, statusUrl);
      const classified = [...http.failures, ...ws.failures].map((failure) => ({
        ...failure,
        duringKill: killedAt.some((at) => failure.at >= at && failure.at <= at + killGraceMs),
      }));
      run.failures.push(...classified);
      const duringKill = classified.filter((failure) => failure.duringKill).length;
      const sample: SoakSample = {
        t: Math.round((i * options.sampleEveryMs) / 100) / 10,
        ...stats,
        targetsUp: targets.up,
        reloads: stats.configVersion - previous.configVersion,
        requests: http.latenciesMs.length,
        p50Ms: quantile(http.latenciesMs, 0.5),
        p99Ms: quantile(http.latenciesMs, 0.99),
        maxMs: quantile(http.latenciesMs, 1),
        refused: http.refused,
        skipped: http.skipped,
        webSocketEchoes: ws.echoes,
        errorsDuringKill: duringKill,
        errors: classified.length - duringKill,
        load1: loadavg()[0]!,
      };
      if (Number.isFinite(stats.configVersion)) previous = stats;
      run.samples.push(sample);
      print(progressLine(sample, classified));
    }
    // The last rewrite gets the watcher's debounce and the reload's time (bounded) to apply.
    clearInterval(reloadTimer);
    for (let wait = 0; wait < 50 && run.applied < run.rewrites; wait++) {
      await sleep(200);
      const version = (await readGatewayStats(pid, statusUrl)).configVersion;
      if (Number.isFinite(version)) run.applied = version - first.configVersion;
    }
  } finally {
    clearInterval(reloadTimer);
    stop.abort();
    await chaos;
    sockets.stop();
    await load.stop();
    await stopChild(gateway, 10_000);
    run.stoppedCleanly = gateway.process.signalCode !== "SIGKILL";
    await targets.stop();
  }
  return run;
}

/** Every `killEvery`, halfway through it, kills the next target and revives it `downFor` later. */
async function killAndRevive(
  options: SoakOptions,
  targets: SoakTargets,
  started: number,
  end: number,
  signal: AbortSignal,
  record: (from: number, to?: number) => void,
): Promise<void> {
  for (let k = 0; ; k++) {
    const killAt = started + k * options.killEveryMs + options.killEveryMs / 2;
    if (killAt + options.downForMs > end) return;
    try {
      await sleep(killAt - Date.now(), undefined, { signal });
    } catch {
      return;
    }
    const index = k % targets.ports.length;
    const from = Date.now();
    record(from);
    await targets.kill(index);
    await sleep(options.downForMs, undefined, { signal }).catch(() => {});
    await targets.revive(index);
    record(from, Date.now());
    if (signal.aborted) return;
  }
}

function progressLine(s: SoakSample, failures: readonly SoakFailure[]): string {
  const kinds = new Map<string, number>();
  for (const { what } of failures) kinds.set(what, (kinds.get(what) ?? 0) + 1);
  const seen = [...kinds].map(([what, count]) => `${count} ${what}`).join(", ");
  return `${String(s.t).padStart(6)}s  rss ${s.rssMiB.toFixed(1)} MiB  heap ${s.heapUsedMiB.toFixed(1)} MiB  fds ${s.fds}  req ${s.requests}  p99 ${s.p99Ms.toFixed(1)} ms  errors ${s.errors} (+${s.errorsDuringKill} after kills)  reloads ${s.reloads}  targets up ${s.targetsUp}  load ${s.load1.toFixed(2)}${seen ? `  [${seen}]` : ""}`;
}
