/**
 * @module bench/soak
 * `npm run soak`: a long run of mixed traffic through a Gatehouse whose config is
 * rewritten every 10 s and whose upstream loses a target every minute, sampled every
 * 10 s; writes samples.csv, samples.json and soak.svg into its output folder and prints
 * a verdict (memory and fd growth, errors, reloads, p99). Not part of the tests: a run
 * takes 30 minutes by default (see docs/benchmarks.md, "Soak").
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { installCleanupHandlers } from "./processes.ts";
import { formatChecks } from "./report.ts";
import { parseSoakOptions, type SoakOptions, soakUsage } from "./soak-options.ts";
import { soakSvg } from "./soak-plot.ts";
import { runSoak } from "./soak-run.ts";
import { samplesCsv } from "./soak-samples.ts";
import { soakChecks } from "./soak-verdict.ts";

let options: SoakOptions | "help";
try {
  options = parseSoakOptions(process.argv.slice(2));
} catch (error) {
  console.error(`${(error as Error).message}\n\n${soakUsage}`);
  process.exit(2);
}
if (options === "help") {
  console.log(soakUsage);
  process.exit(0);
}

installCleanupHandlers(() => {});
mkdirSync(options.out, { recursive: true });
const startedAt = new Date();
const loadAtStart = loadavg();
const commit = gitCommit();
console.log(
  `soak: ${options.durationMs / 1000}s of ${options.rate} req/s + ${options.webSockets} WebSockets, reload every ${options.reloadEveryMs / 1000}s, a target killed every ${options.killEveryMs / 1000}s for ${options.downForMs / 1000}s; commit ${commit}, load ${loadAtStart.map((l) => l.toFixed(2)).join(" ")}`,
);

try {
  const run = await runSoak(options, (line) => console.log(line));
  const checks = soakChecks(run);
  const meta = {
    startedAt: startedAt.toISOString(),
    endedAt: new Date().toISOString(),
    commit,
    node: process.version,
    cores: cpus().length,
    loadAverageAtStart: loadAtStart,
    loadAverageAtEnd: loadavg(),
    options,
    kills: run.kills,
    rewrites: run.rewrites,
    applied: run.applied,
    stoppedCleanly: run.stoppedCleanly,
  };
  writeFileSync(join(options.out, "samples.csv"), samplesCsv(run.samples));
  writeFileSync(
    join(options.out, "samples.json"),
    `${JSON.stringify({ ...meta, checks, samples: run.samples, down: run.down, failures: run.failures.slice(0, 2_000) }, null, 2)}\n`,
  );
  const title = `Gatehouse soak, ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC, commit ${commit}`;
  writeFileSync(join(options.out, "soak.svg"), soakSvg(run.samples, run.down, title));
  const loads = run.samples.map((sample) => sample.load1);
  console.log(
    `\n${run.samples.length} samples; load average (1 min) ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)}; gateway ${run.stoppedCleanly ? "stopped cleanly on SIGTERM" : "had to be killed"}`,
  );
  console.log(formatChecks(checks));
  console.log(`\noutput: ${options.out} (samples.csv, samples.json, soak.svg, access.log)`);
} catch (error) {
  console.error(`soak failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
}

function gitCommit(): string {
  try {
    const hash = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], { encoding: "utf8" });
    return dirty.trim() ? `${hash} (src modified)` : hash;
  } catch {
    return "unknown";
  }
}
