/**
 * @module bench/tracing-threads
 * Where a row's CPU goes, the default config and the traced row side by side: the gateway's
 * CPU per request split by thread (the main thread, libuv's pool, V8's helper threads, the
 * rest), what it allocates and how often the young generation is collected
 * (`--trace-gc-nvp`), and the OTLP sink's CPU.
 *
 *   node bench/tracing-threads.ts [--runs 12] [--seconds 2] [--warmup 5] [--pinned]
 *                                 [--only observed,traced] [--cpu-prof DIR] [--base DIR,...]
 *
 * `--base` runs the same rows from other checkouts of the project as well (their own
 * bench/ and src/), named `<row>@<directory name>`, for a before/after under the same load.
 *
 * Every chosen gateway runs at once against one nginx; short wrk runs alternate between
 * them, so load from elsewhere on the machine falls on each about equally. Each figure is
 * the median over the runs.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { startNginx } from "./nginx.ts";
import { measuredCore, pinHarness, setAffinity } from "./pinning.ts";
import { freePort, stopChild, waitForListening } from "./processes.ts";
import { type RunningTarget, type Target, targets } from "./targets.ts";
import { runWrk } from "./wrk.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "12" },
    seconds: { type: "string", default: "2" },
    warmup: { type: "string", default: "5" },
    only: { type: "string", default: "observed,traced" },
    pinned: { type: "boolean", default: false },
    "cpu-prof": { type: "string" },
    base: { type: "string" },
  },
});
const names = values.only.split(",").map((name) => `gatehouse-${name}`);
const bases = values.base ? values.base.split(",").map((dir) => resolve(dir)) : [];
const chosen: { name: string; target: Target }[] = [];
for (const [label, list] of [
  ["", targets] as const,
  ...(await Promise.all(
    bases.map(async (dir) => {
      const other = (await import(join(dir, "bench/targets.ts"))) as { targets: Target[] };
      return [`@${basename(dir)}`, other.targets] as const;
    }),
  )),
]) {
  for (const name of names) {
    const target = list.find((candidate) => candidate.name === name);
    if (!target) throw new Error(`no target ${name}${label}`);
    chosen.push({ name: `${name}${label}`, target });
  }
}
const ticksPerSecond = 100;

/** CPU seconds by thread group of a process, from /proc/PID/task/TID/stat. */
function threadCpu(pid: number): Map<string, number> {
  const groups = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cpu = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
      const group = name === "MainThread" ? "main" : name.startsWith("libuv") ? "libuv" : name;
      groups.set(group, (groups.get(group) ?? 0) + cpu);
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return groups;
}

/** CPU seconds of this harness's otlp-sink children. */
function sinkCpu(): number {
  let total = 0;
  for (const pid of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) !== process.pid) continue;
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("otlp-sink")) continue;
      total += (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
    } catch {
      // Gone already.
    }
  }
  return total;
}

/** Young-generation collections and bytes allocated, from a gateway's `--trace-gc-nvp` lines. */
function gcTotals(dir: string, pid: number) {
  const totals = { scavenges: 0, pauseMs: 0, allocated: 0, promoted: 0 };
  for (const file of readdirSync(dir).filter((name) => name.endsWith("-stdout.log"))) {
    for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
      if (!line.startsWith(`[${pid}:`)) continue;
      const field = (name: string) => Number(new RegExp(` ${name}=([\\d.]+)`).exec(line)?.[1] ?? 0);
      if (/ gc=s /.test(line)) totals.scavenges++;
      totals.pauseMs += field("pause");
      totals.allocated += field("allocated");
      totals.promoted += field("promoted");
    }
  }
  return totals;
}

/** SIGTERM, then waits up to `ms` for the process to be gone. */
async function exited(pid: number, ms: number): Promise<void> {
  process.kill(pid, "SIGTERM");
  for (const end = Date.now() + ms; Date.now() < end; ) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
const root = mkdtempSync(join(tmpdir(), "gatehouse-threads-"));
if (values.pinned) pinHarness();
const upstreamPort = await freePort();
const upstream = startNginx("nginx upstream", join(root, "nginx-upstream"), upstreamPort, {
  kind: "upstream",
});
const running: { name: string; dir: string; target: RunningTarget; startedAt: number }[] = [];
try {
  await waitForListening(upstream, upstreamPort, 15_000);
  for (const { name, target } of chosen) {
    // A directory each, so each gateway's stdout (access log and GC trace) is its own file.
    const dir = join(root, name);
    mkdirSync(dir);
    const profile = values["cpu-prof"];
    const nodeFlags = () => [
      "--trace-gc-nvp",
      ...(profile ? ["--cpu-prof", "--cpu-prof-dir", join(profile, name)] : []),
    ];
    const context = { dir, upstreamPort, upstream, nodeFlags };
    const startedAt = Date.now();
    const started = await target.start(context);
    running.push({ name, dir, target: started, startedAt });
    if (values.pinned) setAffinity(started.pid, measuredCore);
  }
  const load = (target: RunningTarget, seconds: number) =>
    runWrk(target.url, { threads: 1, connections: 50, headers: target.headers, seconds });
  for (const { target } of running) await load(target, Number(values.warmup));
  const measuredFrom = Date.now();
  const gcBefore = running.map(({ dir, target }) => gcTotals(dir, target.pid!));
  const samples = running.map(() => [] as Map<string, number>[]);
  const requests = running.map(() => 0);
  for (let run = 0; run < Number(values.runs); run++) {
    for (let step = 0; step < running.length; step++) {
      const index = (step + run) % running.length;
      const { target } = running[index]!;
      const before = threadCpu(target.pid!);
      const sinkBefore = sinkCpu();
      const result = await load(target, Number(values.seconds));
      const after = threadCpu(target.pid!);
      const n = result.requests;
      requests[index]! += n;
      const row = new Map<string, number>([["req/s", result.requestsPerSecond]]);
      let total = 0;
      for (const [group, cpu] of after) {
        const used = cpu - (before.get(group) ?? 0);
        total += used;
        row.set(group, (used * 1e6) / n);
      }
      row.set("total", (total * 1e6) / n);
      row.set("sink", ((sinkCpu() - sinkBefore) * 1e6) / n);
      samples[index]!.push(row);
    }
  }
  running.forEach(({ name, dir, target, startedAt }, index) => {
    if (values["cpu-prof"])
      console.log(`${name}: profile-summary --from ${Math.ceil((measuredFrom - startedAt) / 1e3)}`);
    const rows = samples[index]!;
    const keys = [...new Set(rows.flatMap((row) => [...row.keys()]))];
    const medians = keys.map((key) => {
      const value = median(rows.map((row) => row.get(key) ?? 0));
      return key === "req/s" ? `${Math.round(value)} req/s` : `${key} ${value.toFixed(1)}`;
    });
    // The GC trace is buffered by the C library: totals over all runs, not per run.
    const gc = gcTotals(dir, target.pid!);
    const n = requests[index]!;
    const was = gcBefore[index]!;
    console.log(
      `${name}: ${medians.join(", ")} (µs CPU / request, medians of ${rows.length} runs); ` +
        `allocated ${((gc.allocated - was.allocated) / n).toFixed(0)} B/request, ` +
        `promoted ${((gc.promoted - was.promoted) / n).toFixed(0)} B/request, ` +
        `${(((gc.scavenges - was.scavenges) * 1000) / n).toFixed(2)} scavenges / 1k requests, ` +
        `GC pauses ${(((gc.pauseMs - was.pauseMs) * 1000) / n).toFixed(1)} µs/request`,
    );
  });
} finally {
  for (const { target } of running) {
    // A profile is written as the process exits: give it longer than the harness's grace.
    if (values["cpu-prof"] && target.pid !== undefined) await exited(target.pid, 20_000);
    await target.stop();
  }
  await stopChild(upstream);
  rmSync(root, { recursive: true, force: true });
}
