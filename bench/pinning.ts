/**
 * @module bench/pinning
 * `--pinned`: the measured process alone on core 0, everything else (the harness and so
 * every process it starts: wrk, nginx, Redis, sinks) on core 1, so the two stop taking
 * each other's time slices and ratios between runs stop swinging. Uses `taskset`.
 */
import { execFileSync } from "node:child_process";

/** The core the measured process gets to itself. */
export const measuredCore = "0";
/** The core the harness and its helpers share. */
export const harnessCore = "1";

/** How a run places its processes, as the header prints it. */
export function pinningDescription(pinned: boolean): string {
  return pinned
    ? `pinned: the measured process (all its threads) on core ${measuredCore}; the harness, wrk, ` +
        `nginx, Redis and sinks on core ${harnessCore}; the gatehouse-workers row runs unpinned ` +
        "(cores 0-1, its workers need both)"
    : "raw: no pinning, every process may run on every core";
}

/**
 * Moves the harness (every thread) to the harness core. Children started afterwards
 * inherit it, so wrk, nginx and the rest need nothing more.
 */
export function pinHarness(): void {
  setAffinity(process.pid, harnessCore);
}

/**
 * Moves every thread of `pid` to `cores` (a taskset list: `0`, `1`, `0,1`). Threads the
 * process starts later inherit its main thread's set. A process that has already
 * exited is left alone.
 */
export function setAffinity(pid: number | undefined, cores: string): void {
  if (pid === undefined) return;
  try {
    execFileSync("taskset", ["-a", "-p", "-c", cores, String(pid)], { stdio: "ignore" });
  } catch (error) {
    if (processAlive(pid)) throw new Error(`taskset -a -p -c ${cores} ${pid} failed: ${error}`);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
