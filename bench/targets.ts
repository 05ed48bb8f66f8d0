/**
 * @module bench/targets
 * The things the bench measures, in the order it measures them. Each one starts as its
 * own process on a free loopback port and proxies to (or is) the nginx JSON upstream.
 */
import { closeSync, openSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { measuredPath, writeGatehouseConfig } from "./configs.ts";
import { startNginx } from "./nginx.ts";
import { type HelperProcess, type PluginScenario, pluginScenarios } from "./plugin-scenarios.ts";
import { type Child, freePort, startChild, stopChild, waitForListening } from "./processes.ts";
import type { ExpectedAnswer } from "./verify.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

/** What every target is started with. */
export interface BenchContext {
  /** Scratch directory for configs and nginx prefixes; removed at the end. */
  dir: string;
  upstreamPort: number;
  /** The upstream nginx, already running: the `upstream` target measures it in place. */
  upstream: Child;
  /** Extra `node` flags for the Node targets, e.g. `--cpu-prof` (see `--cpu-prof` in options). */
  nodeFlags: (target: string) => string[];
  /** A command the Node targets run under (valgrind, for `--instructions`), node's path last. */
  wrapper?: (target: string) => string[];
  /** Multiplies the targets' start-up deadlines (a wrapped target starts many times slower). */
  startupScale?: number;
}

/** A started target: where to send load, and how to stop it. */
export interface RunningTarget {
  url: string;
  /** The process that serves it, for its CPU time. */
  pid: number | undefined;
  /** Processes it needs beside it (a redis-server), whose CPU time is reported with its own. */
  helpers?: readonly HelperProcess[];
  /** Headers every measured request must carry (credentials, an Origin), as `Name: value`. */
  headers?: readonly string[];
  /** The answer the target must give, when it is not the upstream's small JSON as it is. */
  expected?: ExpectedAnswer;
  stop(): Promise<void>;
}

export interface Target {
  /** Short id, used by `--only` and in results/latest.json. */
  name: string;
  /** What the table calls it. */
  label: string;
  start(context: BenchContext): Promise<RunningTarget>;
}

const gatehouseStartupMs = 60_000;
const defaultStartupMs = 15_000;

export const targets: Target[] = [
  {
    name: "upstream",
    label: "nginx upstream (direct)",
    start: async ({ upstreamPort, upstream }) => ({
      url: `http://127.0.0.1:${upstreamPort}${measuredPath(10)}`,
      pid: upstream.process.pid,
      stop: async () => {},
    }),
  },
  gatehouse(10, "gatehouse-10", "Gatehouse, 10 routes"),
  gatehouse(10_000, "gatehouse-10k", "Gatehouse, 10,000 routes"),
  gatehouseWorkers(),
  ...pluginScenarios.map(gatehouseWithPlugins),
  nodeBaseline("undici", "undici dispatch baseline", "baselines/undici-dispatch.ts"),
  nodeBaseline("fast-gateway", "fast-gateway", "baselines/fast-gateway.ts"),
  {
    name: "nginx-proxy",
    label: "nginx reverse proxy",
    start: async ({ dir, upstreamPort }) => {
      const port = await freePort();
      const child = startNginx("nginx-proxy", `${dir}/nginx-proxy`, port, {
        kind: "proxy",
        upstreamPort,
      });
      return listening(child, port, measuredPath(10), defaultStartupMs);
    },
  },
];

function gatehouse(routeCount: number, name: string, label: string): Target {
  return {
    name,
    label,
    start: async (context) => {
      const port = await freePort();
      const config = writeGatehouseConfig(context.dir, port, context.upstreamPort, routeCount);
      return startGatehouse(context, name, config, port, measuredPath(routeCount));
    },
  };
}

/**
 * Gatehouse with 10 routes and `workers: auto` (one thread per core), beside gatehouse-10's
 * one thread: the load generator and nginx share the same cores, so read the two together.
 */
function gatehouseWorkers(): Target {
  const workers = availableParallelism();
  return {
    name: "gatehouse-workers",
    label: `Gatehouse, 10 routes, workers: auto (${workers})`,
    start: async (context) => {
      const port = await freePort();
      const config = writeGatehouseConfig(context.dir, port, context.upstreamPort, 10, {
        name: "workers-auto",
        gateway: ["  workers: auto"],
      });
      return startGatehouse(context, "gatehouse-workers", config, port, measuredPath(10));
    },
  };
}

/** Gatehouse with 10 routes and a scenario's global plugins (and what they need running). */
function gatehouseWithPlugins(scenario: PluginScenario): Target {
  return {
    name: scenario.name,
    label: scenario.label,
    start: async (context) => {
      const prepared = await scenario.prepare(context.dir);
      try {
        const port = await freePort();
        const config = writeGatehouseConfig(
          context.dir,
          port,
          context.upstreamPort,
          10,
          prepared.extras,
        );
        const running = await startGatehouse(
          context,
          scenario.name,
          config,
          port,
          prepared.path ?? measuredPath(10),
          prepared.stdoutFile,
        );
        return {
          ...running,
          headers: prepared.headers,
          ...(prepared.expected && { expected: prepared.expected }),
          ...(prepared.helpers && { helpers: prepared.helpers }),
          stop: async () => {
            await running.stop();
            await prepared.stop();
          },
        };
      } catch (error) {
        await prepared.stop();
        throw error;
      }
    },
  };
}

/**
 * Runs the Gatehouse CLI on `config` and waits until it serves on `port`; its stdout goes
 * to `stdoutFile` when given (the child keeps its own descriptor, the harness closes its).
 */
function startGatehouse(
  context: BenchContext,
  name: string,
  config: string,
  port: number,
  path: string,
  stdoutFile?: string,
): Promise<RunningTarget> {
  const fd = stdoutFile === undefined ? undefined : openSync(stdoutFile, "a");
  try {
    const [command, ...args] = nodeCommand(context, name, [
      `${root}src/cli/main.ts`,
      "start",
      "-c",
      config,
    ]);
    const child = startChild(name, command!, args, {}, fd);
    return listening(child, port, path, gatehouseStartupMs * (context.startupScale ?? 1));
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function nodeBaseline(name: string, label: string, script: string): Target {
  return {
    name,
    label,
    start: async (context) => {
      const port = await freePort();
      const [command, ...args] = nodeCommand(context, name, [`${root}bench/${script}`]);
      const child = startChild(name, command!, args, {
        PORT: String(port),
        UPSTREAM_URL: `http://127.0.0.1:${context.upstreamPort}`,
      });
      return listening(
        child,
        port,
        measuredPath(10),
        defaultStartupMs * (context.startupScale ?? 1),
      );
    },
  };
}

/** `node` (or the wrapper ending in node's path), its flags for `target`, then `args`. */
function nodeCommand(context: BenchContext, target: string, args: string[]): string[] {
  const node = context.wrapper?.(target) ?? [process.execPath];
  return [...node, ...context.nodeFlags(target), ...args];
}

async function listening(
  child: Child,
  port: number,
  path: string,
  timeoutMs: number,
): Promise<RunningTarget> {
  const running = {
    url: `http://127.0.0.1:${port}${path}`,
    pid: child.process.pid,
    stop: () => stopChild(child),
  };
  try {
    await waitForListening(child, port, timeoutMs);
  } catch (error) {
    await running.stop();
    throw error;
  }
  return running;
}
