/**
 * @module bench/reload
 * Reload cost: a Gatehouse started by the CLI on a generated config with N routes, whose
 * file is rewritten (renamed into place) to add one route; the time from the write to the
 * first 200 from that route, polled over keep-alive HTTP, is one reload's cost.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { fileURLToPath } from "node:url";
import { writeGatehouseConfig } from "./configs.ts";
import { freePort, startChild, stopChild, waitForListening } from "./processes.ts";
import type { BenchContext } from "./targets.ts";

const cli = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));

/**
 * Quiet time the watcher waits for after a change. Kept short so the number is the
 * gateway's work, not the wait; with the default (250 ms) add the difference.
 */
export const reloadDebounceMs = 10;

/** A Gatehouse whose config file the bench rewrites. */
export interface ReloadableGatehouse {
  url: string;
  pid: number | undefined;
  /** Writes the base config plus a route `/reload-<n>/*`, renamed into place; returns when written. */
  rewrite(n: number): void;
  /** Whether GET `path` answers 200 now. */
  ok(path: string): Promise<boolean>;
  /** The config version `/status` reports. */
  version(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts `gatehouse start -c FILE` on a config with `routes` routes and a short debounce. */
export async function startReloadable(
  context: BenchContext,
  name: string,
  routes: number,
): Promise<ReloadableGatehouse> {
  const [port, statusPort] = [await freePort(), await freePort()];
  const file = writeGatehouseConfig(context.dir, port, context.upstreamPort, routes, {
    name,
    gateway: [
      `  status: { host: 127.0.0.1, port: ${statusPort} }`,
      `  reload: { watch: true, debounce: ${reloadDebounceMs}ms }`,
    ],
  });
  // Routes are the file's last section, so a route appended at the end joins them.
  const base = readFileSync(file, "utf8");
  const child = startChild(name, process.execPath, [
    ...context.nodeFlags(name),
    cli,
    "start",
    "-c",
    file,
  ]);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = (url: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(url, { agent, timeout: 30_000 }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
      req.on("error", reject);
      req.end();
    });
  try {
    await waitForListening(child, port, 60_000);
    await waitForListening(child, statusPort, 10_000);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.process.pid,
    rewrite(n) {
      const route = `  - { name: reload-${n}, service: upstream, match: { paths: ["/reload-${n}/*"] } }\n`;
      writeFileSync(`${file}.next`, base + route);
      renameSync(`${file}.next`, file);
    },
    ok: async (path) => (await get(`http://127.0.0.1:${port}${path}`)).status === 200,
    version: async () =>
      (
        JSON.parse((await get(`http://127.0.0.1:${statusPort}/status`)).body) as {
          config: { version: number };
        }
      ).config.version,
    async stop() {
      agent.destroy();
      await stopChild(child);
    },
  };
}

/** The wait between two polls for the new route. */
const pollMs = 1;

/** Reload cost for one route count: every sample, its median and its maximum, in ms. */
export interface ReloadCost {
  routes: number;
  samplesMs: number[];
  medianMs: number;
  maxMs: number;
}

/**
 * `reloads` rewrites of a config with `routes` routes, each timed from the write to the new
 * route's first 200, polled every millisecond (bounded at 30 s per reload). Not in a tight
 * loop: on two cores, a thousand polls a second are a load of their own that the reload's
 * two threads share the cores with; a millisecond is well under the precision wanted.
 */
export async function measureReloadCost(
  context: BenchContext,
  routes: number,
  reloads: number,
): Promise<ReloadCost> {
  const gatehouse = await startReloadable(context, `reload-cost-${routes}`, routes);
  const samplesMs: number[] = [];
  try {
    for (let n = 1; n <= reloads; n++) {
      const path = `/reload-${n}/x`;
      const started = performance.now();
      gatehouse.rewrite(n);
      while (!(await gatehouse.ok(path))) {
        if (performance.now() - started > 30_000)
          throw new Error(`reload ${n} with ${routes} routes was not serving after 30 s`);
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
      samplesMs.push(performance.now() - started);
      // Let the watcher's own follow-up look settle before the next write.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await gatehouse.stop();
  }
  return { routes, samplesMs, medianMs: median(samplesMs), maxMs: Math.max(...samplesMs) };
}

/** The median of some numbers (the upper of the middle two). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
