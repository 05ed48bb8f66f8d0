/**
 * @module bench/instructions
 * `npm run bench -- --instructions`: each chosen Node target runs under valgrind's
 * callgrind, which counts the instructions the process executes (all its threads, user
 * space only). A count does not depend on the VM's speed that minute, so ratios of
 * instructions per request hold far stiller than req/s ratios; what still moves them
 * (batching with many requests in flight, time-batched work, GC threads) is in
 * docs/benchmarks.md, "Instruction counts".
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { type FunctionCost, functionCosts, perfMapFlag } from "./instructions-profile.ts";
import { startNginx } from "./nginx.ts";
import { freePort, stopChild, waitForListening } from "./processes.ts";
import { type Check, formatChecks } from "./report.ts";
import { formatColumns } from "./table.ts";
import type { BenchContext, RunningTarget, Target } from "./targets.ts";
import { verifyTarget } from "./verify.ts";

/** Requests sent before counting (the JIT settles) and counted, per target. */
const warmupRequests = 3_000;
const countedRequests = 3_000;
/** Requests in flight at once: enough to batch work per event-loop turn as wrk's -c50 does. */
/** Functions listed per target. */
const topFunctions = 12;
/** Under callgrind a process runs 20–50 times slower: its start-up deadlines grow with it. */
export const callgrindStartupScale = 20;

/** BENCH_INSTRUCTIONS_CONCURRENCY: a whole number from 1 to 1,000; 50 when unset. */
function inFlight(text: string | undefined): number {
  if (text === undefined || text === "") return 50;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 1_000)
    throw new Error(
      `BENCH_INSTRUCTIONS_CONCURRENCY=${text}: expected a whole number from 1 to 1000`,
    );
  return value;
}

/** One target's count, or why it has none. */
export interface InstructionCount {
  name: string;
  label: string;
  /** Instructions per request on the main thread (the event loop). */
  perRequest?: number;
  /** Instructions per request on all the process's threads (V8's GC and compiler helpers too). */
  allThreads?: number;
  /** The main thread's most expensive functions. */
  functions?: FunctionCost[];
  failure?: string;
}

/** The command that runs a Node target under callgrind, counting nothing until told to. */
export function callgrindCommand(dir: string, target: string): string[] {
  return [
    "valgrind",
    "--tool=callgrind",
    // V8 writes machine code into memory it then runs: valgrind must see those writes.
    "--smc-check=all-non-file",
    // Start-up and warm-up run uninstrumented (fast); callgrind_control turns it on.
    "--instr-atstart=no",
    // A file per thread: the main thread's count is what the event loop spends.
    "--separate-threads=yes",
    `--callgrind-out-file=${join(dir, `callgrind.${target}.%p`)}`,
    process.execPath,
  ];
}

/** Counts each target's instructions per request; the targets start with `context`. */
export async function measureInstructions(
  chosen: readonly Target[],
  context: BenchContext,
  profiles: string,
  concurrency: number,
): Promise<InstructionCount[]> {
  const counts: InstructionCount[] = [];
  for (const target of chosen) {
    process.stdout.write(`[instructions] ${target.label}: `);
    const count = await countOne(target, context, profiles, concurrency);
    console.log(
      count.perRequest === undefined
        ? `FAILED\n${count.failure}`
        : `${Math.round(count.perRequest).toLocaleString("en-US")} instructions/request on the main thread, ${Math.round(count.allThreads!).toLocaleString("en-US")} on all`,
    );
    counts.push(count);
  }
  return counts;
}

async function countOne(
  target: Target,
  context: BenchContext,
  profiles: string,
  concurrency: number,
): Promise<InstructionCount> {
  const { name, label } = target;
  let running: RunningTarget | undefined;
  try {
    running = await target.start(context);
    await verifyTarget(running.url, running.headers, running.expected);
    const pid = String(running.pid);
    await sendRequests(running, warmupRequests, concurrency);
    callgrindControl(["--instr=on", pid]);
    await sendRequests(running, countedRequests, concurrency);
    callgrindControl(["--instr=off", pid]);
    callgrindControl(["--dump", pid]);
    const total = totalInstructions(profiles, name, pid);
    return {
      name,
      label,
      perRequest: total.main / countedRequests,
      allThreads: total.all / countedRequests,
      functions: functionCosts(total.mainFile, pid, countedRequests, topFunctions),
    };
  } catch (error) {
    return { name, label, failure: (error as Error).message };
  } finally {
    await running?.stop();
  }
}

/** Sends `count` GETs over `concurrency` keep-alive connections; any non-200 fails the count. */
async function sendRequests(
  running: RunningTarget,
  count: number,
  concurrency: number,
): Promise<void> {
  const url = new URL(running.url);
  const headers: Record<string, string> = {};
  for (const line of running.headers ?? []) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  const pool = new Pool(url.origin, { connections: concurrency, pipelining: 1 });
  let sent = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (sent < count) {
          sent++;
          const response = await pool.request({
            path: url.pathname + url.search,
            method: "GET",
            headers,
          });
          await response.body.dump();
          if (response.statusCode !== 200)
            throw new Error(`${running.url} answered ${response.statusCode}, expected 200`);
        }
      }),
    );
  } finally {
    await pool.close();
  }
}

function callgrindControl(args: string[]): void {
  execFileSync("callgrind_control", args, { stdio: "ignore", timeout: 60_000 });
}

/**
 * The `totals:` callgrind wrote for `pid`: a file per thread (`-01` is the main thread,
 * the event loop; the others are V8's and libuv's helpers) and per dump.
 */
function totalInstructions(dir: string, target: string, pid: string): Totals {
  const prefix = `callgrind.${target}.${pid}.`;
  const totals = { main: 0, all: 0, mainFile: "" };
  for (const file of readdirSync(dir).filter((entry) => entry.startsWith(prefix))) {
    const line = /^totals:\s+(\d+)/m.exec(readFileSync(join(dir, file), "latin1"));
    if (!line) continue;
    totals.all += Number(line[1]);
    if (file.endsWith("-01")) {
      totals.main += Number(line[1]);
      totals.mainFile = join(dir, file);
    }
  }
  if (totals.main === 0)
    throw new Error(`callgrind wrote no instruction count for pid ${pid} in ${dir}`);
  return totals;
}

interface Totals {
  main: number;
  all: number;
  /** The main thread's file (there is one dump). */
  mainFile: string;
}

/** The table: instructions per request and the undici baseline's count over each target's. */
export function formatInstructionsTable(counts: readonly InstructionCount[]): string {
  const undici = counts.find((count) => count.name === "undici");
  const base = undici?.perRequest;
  const baseAll = undici?.allThreads;
  const rows = counts.map((count) => {
    if (count.perRequest === undefined)
      return [count.label, "failed", "-", "-", "-", (count.failure ?? "").split("\n")[0]!];
    return [
      count.label,
      Math.round(count.perRequest).toLocaleString("en-US"),
      base === undefined ? "-" : `${(base / count.perRequest).toFixed(3)}x`,
      Math.round(count.allThreads!).toLocaleString("en-US"),
      baseAll === undefined ? "-" : `${(baseAll / count.allThreads!).toFixed(3)}x`,
      "",
    ];
  });
  return formatColumns(
    ["target", "instr/req main", "vs undici", "instr/req all threads", "vs undici", "note"],
    rows,
  );
}

/** A target's most expensive functions on the main thread, self cost per request. */
function formatFunctions(count: InstructionCount): string {
  const rows = count.functions!.map((cost) => [
    Math.round(cost.perRequest).toLocaleString("en-US"),
    cost.name,
  ]);
  return `${count.label}: the main thread's most expensive functions (self, per request)\n${formatColumns(["instr/req", "function"], rows)}`;
}

/** Whether valgrind and callgrind_control are on PATH (Debian package `valgrind`). */
export function callgrindAvailable(): boolean {
  return ["valgrind", "callgrind_control"].every(
    (tool) => spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0,
  );
}

/**
 * The load targets' throughput claims judged on instructions per request instead of
 * req/s: a proxy for them (the kernel's share of a request, and other processes such as
 * redis-server or the OTLP sink, are not counted), steady from run to run.
 */
export function instructionChecks(counts: readonly InstructionCount[]): Check[] {
  const get = (name: string) => counts.find((count) => count.name === name)?.perRequest;
  const check = (claim: string, subject: string, reference: string, minimum: number): Check => {
    const a = get(subject);
    const b = get(reference);
    const full = `${claim} (instructions per request)`;
    if (a === undefined || b === undefined)
      return { claim: full, verdict: "n/a", detail: "not measured in this run" };
    const ratio = b / a;
    return {
      claim: full,
      verdict: ratio >= minimum ? "PASS" : "FAIL",
      detail: `${ratio.toFixed(3)}x (${Math.round(a).toLocaleString("en-US")} vs ${Math.round(b).toLocaleString("en-US")}, needs >= ${minimum}x)`,
    };
  };
  return [
    check("Gatehouse (10 routes) >= 0.9x undici baseline", "gatehouse-10", "undici", 0.9),
    check(
      "Default config (metrics + access log) >= 0.9x undici baseline",
      "gatehouse-observed",
      "undici",
      0.9,
    ),
    check(
      "Metrics + access log cost <= 5%: default config >= 0.95x Gatehouse with both off",
      "gatehouse-observed",
      "gatehouse-10",
      0.95,
    ),
    check(
      "Tracing at ratio 1.0 >= 0.75x the same config with tracing off",
      "gatehouse-traced",
      "gatehouse-observed",
      0.75,
    ),
    check(
      "Gatehouse + jwt, rate-limit (Redis), cors >= 0.7x undici baseline",
      "gatehouse-auth-stack",
      "undici",
      0.7,
    ),
  ];
}

/**
 * The whole `--instructions` run: the nginx upstream, then each chosen target under
 * callgrind in turn, the table and the checks. Only Node targets can be counted.
 */
export async function runInstructions(chosen: readonly Target[], dir: string): Promise<void> {
  if (!callgrindAvailable())
    throw new Error(
      "--instructions needs valgrind (valgrind and callgrind_control on PATH): as root, apt-get install -y valgrind",
    );
  const concurrency = inFlight(process.env.BENCH_INSTRUCTIONS_CONCURRENCY);
  const counted = chosen.filter((target) => !notNode.has(target.name));
  console.log(
    `bench: instructions: each target under callgrind, ${warmupRequests} requests uncounted, then ` +
      `${countedRequests} counted, ${concurrency} at a time (${counted.map((t) => t.name).join(", ")})\n`,
  );
  const upstreamPort = await freePort();
  const upstream = startNginx("nginx upstream", join(dir, "nginx-upstream"), upstreamPort, {
    kind: "upstream",
  });
  // Kept after the run: callgrind_annotate names the native functions (V8's builtins,
  // its GC, libuv, llhttp) that the counts are made of.
  const profiles = mkdtempSync(join(tmpdir(), "gatehouse-callgrind-"));
  let counts: InstructionCount[];
  try {
    await waitForListening(upstream, upstreamPort, 15_000);
    counts = await measureInstructions(
      counted,
      {
        dir,
        upstreamPort,
        upstream,
        nodeFlags: () => [perfMapFlag],
        wrapper: (target) => callgrindCommand(profiles, target),
        startupScale: callgrindStartupScale,
      },
      profiles,
      concurrency,
    );
  } finally {
    await stopChild(upstream);
  }
  console.log(`\n${formatInstructionsTable(counts)}\n`);
  for (const count of counts) if (count.functions) console.log(`${formatFunctions(count)}\n`);
  console.log(`${formatChecks(instructionChecks(counts))}\n`);
  console.log(`bench: callgrind's files are in ${profiles} (callgrind_annotate FILE)`);
}

/** Targets that are not a Node process of their own. */
const notNode = new Set(["upstream", "nginx-proxy"]);
