/**
 * @module bench/router-micro
 * In-process micro-benchmark of route matching with the bench's own route sets, so the
 * cost of route count can be read in nanoseconds rather than guessed from noisy req/s.
 */
import { RouteTable } from "../src/router/route-table.ts";
import { measuredPath, routePath } from "./configs.ts";

export interface RouterCost {
  routes: number;
  /** Nanoseconds per match of the measured path (median of several batches). */
  nsPerMatch: number;
}

const headers = { host: "127.0.0.1", "user-agent": "wrk" };

/** Match cost for each route count; bounded to a few hundred milliseconds in all. */
export function measureRouterCost(routeCounts: readonly number[]): RouterCost[] {
  return routeCounts.map((routes) => {
    const table = new RouteTable(
      Array.from({ length: routes }, (_, i) => ({
        value: i,
        paths: [routePath(i, routes)],
        methods: ["GET", "POST"],
        priority: 0,
      })),
    );
    const path = measuredPath(routes);
    if (table.match("GET", "127.0.0.1", path, headers, "").kind !== "route")
      throw new Error(`router micro-benchmark: ${path} did not match`);
    const batch = 20_000;
    const samples: number[] = [];
    for (let round = 0; round < 15; round++) {
      const started = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) table.match("GET", "127.0.0.1", path, headers, "");
      samples.push(Number(process.hrtime.bigint() - started) / batch);
    }
    samples.sort((a, b) => a - b);
    return { routes, nsPerMatch: samples[Math.floor(samples.length / 2)]! };
  });
}
