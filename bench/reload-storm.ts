/**
 * @module bench/reload-storm
 * Latency during a reload storm: one Gatehouse, measured with wrk alternately in steady
 * state and while its config file is rewritten every 200 ms (a route added each time), so
 * the two p99s come from the same process on the same machine state.
 */
import { measuredPath } from "./configs.ts";
import type { BenchOptions } from "./options.ts";
import { startReloadable } from "./reload.ts";
import type { BenchContext } from "./targets.ts";
import { verifyTarget } from "./verify.ts";
import { runWrk, type WrkResult } from "./wrk.ts";

/** Time between two rewrites of the config file during the storm. */
export const stormIntervalMs = 200;

export interface ReloadStorm {
  routes: number;
  intervalMs: number;
  /** One wrk run per round in each state, in order. */
  steady: WrkResult[];
  storm: WrkResult[];
  /** Config versions applied during each storm run (the watcher's debounce may merge writes). */
  reloads: number[];
  /** Config versions applied during each steady run: 0 unless something else reloaded it. */
  steadyReloads: number[];
}

/** `options.rounds` pairs of runs, steady then storm, against a config with `routes` routes. */
export async function measureReloadStorm(
  context: BenchContext,
  routes: number,
  options: BenchOptions,
): Promise<ReloadStorm> {
  const gatehouse = await startReloadable(context, `reload-storm-${routes}`, routes);
  const url = `${gatehouse.url}${measuredPath(routes)}`;
  const load = { threads: options.threads, connections: options.connections };
  const result: ReloadStorm = {
    routes,
    intervalMs: stormIntervalMs,
    steady: [],
    storm: [],
    reloads: [],
    steadyReloads: [],
  };
  let written = 0;
  try {
    await verifyTarget(url);
    if (options.warmup > 0) await runWrk(url, { ...load, seconds: options.warmup });
    for (let round = 0; round < options.rounds; round++) {
      const steadyFrom = await gatehouse.version();
      result.steady.push(await runWrk(url, { ...load, seconds: options.duration }));
      const before = await gatehouse.version();
      result.steadyReloads.push(before - steadyFrom);
      const timer = setInterval(() => gatehouse.rewrite(++written), stormIntervalMs);
      try {
        result.storm.push(await runWrk(url, { ...load, seconds: options.duration }));
      } finally {
        clearInterval(timer);
      }
      // The last write is served before the count is read and the next steady run starts.
      const deadline = Date.now() + 60_000;
      while (!(await gatehouse.ok(`/reload-${written}/x`))) {
        if (Date.now() > deadline)
          throw new Error(`the storm's last rewrite (${written}) was not served after 60 s`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      result.reloads.push((await gatehouse.version()) - before);
    }
  } finally {
    await gatehouse.stop();
  }
  return result;
}
