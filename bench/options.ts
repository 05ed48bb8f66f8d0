/**
 * @module bench/options
 * Command-line flags (with BENCH_* environment fallbacks) for `npm run bench`.
 */
import { parseArgs } from "node:util";

export interface BenchOptions {
  /** Measured seconds per target and round. */
  duration: number;
  /** Rounds: every target is measured once per round, interleaved; the best round is reported. */
  rounds: number;
  /** Warm-up seconds per target, not measured. */
  warmup: number;
  connections: number;
  threads: number;
  /** Target names or name prefixes to run; empty runs them all. */
  only: string[];
  /** Directory for V8 CPU profiles of the Node targets, or undefined for no profiling. */
  cpuProf: string | undefined;
  /** Measured process on core 0, everything else on core 1 (bench/pinning.ts). */
  pinned: boolean;
  /** Only the chosen load targets: none of the measurements that come with any Gatehouse one. */
  loadOnly: boolean;
  /** Count instructions per request under callgrind instead of measuring req/s (bench/instructions.ts). */
  instructions: boolean;
}

export const usage = `usage: npm run bench -- [options]

  --duration <time>      measured time per target and round       (BENCH_DURATION, default 4s)
  --rounds <n>           rounds over all targets, interleaved;    (BENCH_ROUNDS, default 5)
                         each target's best round is reported
  --warmup <time>        warm-up time per target, not measured    (BENCH_WARMUP, default 2s)
  --connections <n>      wrk connections                          (BENCH_CONNECTIONS, default 50)
  --threads <n>          wrk threads                              (BENCH_THREADS, default 1)
  --only <names>         comma-separated targets or prefixes      (BENCH_ONLY, default all)
                         upstream, gatehouse-10, gatehouse-10k, gatehouse-workers,
                         gatehouse-observed,
                         gatehouse-traced, gatehouse-auth-stack, gatehouse-rate-limit,
                         gatehouse-cache-hit, gatehouse-compression, undici,
                         fast-gateway, nginx-proxy, reload-cost, reload-storm, propagation,
                         instances, connections,
                         registry, sagas, events ("gatehouse" selects every Gatehouse target,
                         and with them the registry; "reload" both reload measurements)
  --cpu-prof <dir>       write a .cpuprofile per Node target into <dir>/<target>/
                         (summarise with: node bench/profile-summary.ts FILE.cpuprofile)
  --pinned               the measured process alone on core 0,    (BENCH_PINNED=1)
                         everything else on core 1 (taskset), for
                         steadier ratios; gatehouse-workers runs unpinned
  --load-only            only the chosen load targets: skip the   (BENCH_LOAD_ONLY=1)
                         in-process tables, TLS, gRPC and registry
                         runs that come with any Gatehouse target
  --instructions         instead of req/s, count instructions per  (BENCH_INSTRUCTIONS=1)
                         request of each chosen Node target under
                         valgrind's callgrind: the same count in
                         every run, however busy the machine
  -h, --help             this text`;

/** Parses argv and the environment; throws a readable error on a bad value. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string" },
      threads: { type: "string" },
      rounds: { type: "string" },
      only: { type: "string" },
      "cpu-prof": { type: "string" },
      pinned: { type: "boolean" },
      "load-only": { type: "boolean" },
      instructions: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const only = values.only ?? env.BENCH_ONLY ?? "";
  return {
    duration: seconds("--duration", values.duration ?? env.BENCH_DURATION ?? "4s", 1),
    rounds: count("--rounds", values.rounds ?? env.BENCH_ROUNDS ?? "5"),
    warmup: seconds("--warmup", values.warmup ?? env.BENCH_WARMUP ?? "2s", 0),
    connections: count("--connections", values.connections ?? env.BENCH_CONNECTIONS ?? "50"),
    threads: count("--threads", values.threads ?? env.BENCH_THREADS ?? "1"),
    only: only
      .split(",")
      .map((name) => name.trim())
      .filter(Boolean),
    cpuProf: values["cpu-prof"],
    pinned: values.pinned ?? onOff("BENCH_PINNED", env.BENCH_PINNED),
    loadOnly: values["load-only"] ?? onOff("BENCH_LOAD_ONLY", env.BENCH_LOAD_ONLY),
    instructions: values.instructions ?? onOff("BENCH_INSTRUCTIONS", env.BENCH_INSTRUCTIONS),
  };
}

/** Whether `--only` selects the target called `name`. */
export function selected(options: BenchOptions, name: string): boolean {
  return (
    options.only.length === 0 ||
    options.only.some((wanted) => name === wanted || name.startsWith(`${wanted}-`))
  );
}

/** Whole seconds from `10`, `10s`, `2m`; wrk takes nothing finer. */
function seconds(flag: string, text: string, minimum: number): number {
  const match = /^(\d+)(s|m)?$/.exec(text.trim());
  const value = match ? Number(match[1]) * (match[2] === "m" ? 60 : 1) : Number.NaN;
  if (!(value >= minimum) || value > 600)
    throw new Error(
      `${flag} ${text}: expected whole seconds or minutes (e.g. 10s, 1m), ${minimum}s to 10m`,
    );
  return value;
}

/** An on/off environment variable: 1/true/yes or 0/false/no (or unset). */
function onOff(name: string, text: string | undefined): boolean {
  const value = (text ?? "").trim().toLowerCase();
  if (["", "0", "false", "no"].includes(value)) return false;
  if (["1", "true", "yes"].includes(value)) return true;
  throw new Error(`${name}=${text}: expected 1 or 0`);
}

function count(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 10_000)
    throw new Error(`${flag} ${text}: expected a whole number from 1 to 10000`);
  return value;
}
