/**
 * @module bench/reload-report
 * The reload rows of `npm run bench`: runs the reload-cost and reload-storm measurements
 * that `--only` selects, prints their tables, and judges them against the reload targets
 * (a 10,000-route reload's median at most 300 ms; p99 while a 1,000-route config is
 * rewritten every 200 ms at most 2x the steady p99).
 */
import type { BenchOptions } from "./options.ts";
import { selected } from "./options.ts";
import { measureReloadCost, median, type ReloadCost, reloadDebounceMs } from "./reload.ts";
import { measureReloadStorm, type ReloadStorm } from "./reload-storm.ts";
import type { Check } from "./report.ts";
import { formatColumns } from "./table.ts";
import type { BenchContext } from "./targets.ts";

/** The `--only` names of the reload measurements. */
export const reloadBenchNames = ["reload-cost", "reload-storm"] as const;

/** Route counts whose reload is timed, reloads per count, and route counts stormed. */
const costRoutes = [10, 10_000];
const reloadsPerCount = 7;
const stormRoutes = [10, 1_000];
const reloadTarget = { routes: 10_000, ms: 300 };
/** The storm the target is about; other storms are judged by the same rule under their own claim. */
const stormTarget = {
  routes: 1_000,
  claim: "Reload storm (1,000 routes rewritten every 200 ms): p99 <= 2x steady p99",
};
const costClaim = "10,000-route reload median <= 300 ms";

export interface ReloadResults {
  debounceMs: number;
  cost: ReloadCost[];
  storms: ReloadStorm[];
}

/** Whether `--only` selects any reload measurement. */
export function reloadSelected(options: BenchOptions): boolean {
  return reloadBenchNames.some((name) => selected(options, name));
}

/** Runs the selected reload measurements, one Gatehouse process at a time. */
export async function measureReload(
  context: BenchContext,
  options: BenchOptions,
): Promise<ReloadResults> {
  const results: ReloadResults = { debounceMs: reloadDebounceMs, cost: [], storms: [] };
  if (selected(options, "reload-cost")) {
    for (const routes of costRoutes) {
      process.stdout.write(`[reload cost] ${routes} routes, ${reloadsPerCount} reloads: `);
      const cost = await measureReloadCost(context, routes, reloadsPerCount);
      console.log(`median ${cost.medianMs.toFixed(0)} ms, max ${cost.maxMs.toFixed(0)} ms`);
      results.cost.push(cost);
    }
  }
  if (selected(options, "reload-storm")) {
    for (const routes of stormRoutes) {
      process.stdout.write(`[reload storm] ${routes} routes, ${options.rounds} round(s): `);
      const storm = await measureReloadStorm(context, routes, options);
      const p99 = (runs: { p99: number }[]) => median(runs.map((run) => run.p99)).toFixed(2);
      console.log(`p99 steady ${p99(storm.steady)} ms, during reloads ${p99(storm.storm)} ms`);
      results.storms.push(storm);
    }
  }
  return results;
}

/** The reload tables: cost per route count, then latency steady vs during the storm. */
export function formatReloadTables(results: ReloadResults): string {
  const tables: string[] = [];
  if (results.cost.length > 0) {
    const rows = results.cost.map((cost) => [
      `${cost.routes.toLocaleString("en-US")} routes`,
      String(cost.samplesMs.length),
      `${cost.medianMs.toFixed(0)} ms`,
      `${cost.maxMs.toFixed(0)} ms`,
      cost.samplesMs.map((ms) => ms.toFixed(0)).join(" "),
    ]);
    const header = [
      `reload: file written -> new route serving (debounce ${results.debounceMs} ms)`,
      "reloads",
      "median",
      "max",
      "each (ms, in order)",
    ];
    tables.push(formatColumns(header, rows, [0, 4]));
  }
  if (results.storms.length > 0) {
    const rows = results.storms.flatMap((storm) => {
      const label = `${storm.routes.toLocaleString("en-US")} routes`;
      return [
        runRow(`${label}, steady`, storm.steady, `${sum(storm.steadyReloads)} applied`),
        runRow(
          `${label}, rewritten every ${storm.intervalMs} ms`,
          storm.storm,
          `${sum(storm.reloads)} applied`,
        ),
      ];
    });
    const header = [
      "latency during reloads (median of rounds)",
      "req/s",
      "p50",
      "p99",
      "max",
      "reloads",
      "errors",
    ];
    tables.push(formatColumns(header, rows, [0]));
  }
  return tables.join("\n\n");
}

type Run = ReloadStorm["steady"][number];

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function runRow(label: string, runs: Run[], reloads: string): string[] {
  const errors = runs.reduce((sum, run) => sum + run.non2xx + run.socketErrors, 0);
  return [
    label,
    Math.round(median(runs.map((run) => run.requestsPerSecond))).toLocaleString("en-US"),
    `${median(runs.map((run) => run.p50)).toFixed(2)} ms`,
    `${median(runs.map((run) => run.p99)).toFixed(2)} ms`,
    `${Math.max(...runs.map((run) => run.max)).toFixed(1)} ms`,
    reloads,
    errors === 0 ? "0" : `FLAGGED: ${errors}`,
  ];
}

/** The reload targets, PASS/FAIL, or n/a when not measured. */
export function reloadChecks(results: ReloadResults | undefined): Check[] {
  const claim = costClaim;
  const cost = results?.cost.find((c) => c.routes === reloadTarget.routes);
  const checks: Check[] = [
    cost
      ? {
          claim,
          verdict: cost.medianMs <= reloadTarget.ms ? "PASS" : "FAIL",
          detail: `median ${cost.medianMs.toFixed(0)} ms, max ${cost.maxMs.toFixed(0)} ms over ${cost.samplesMs.length} reloads`,
        }
      : { claim, verdict: "n/a", detail: "not measured in this run" },
  ];
  const storms = results?.storms ?? [];
  if (!storms.some((storm) => storm.routes === stormTarget.routes))
    checks.push({ claim: stormTarget.claim, verdict: "n/a", detail: "not measured in this run" });
  for (const storm of storms) {
    const steady = median(storm.steady.map((run) => run.p99));
    const during = median(storm.storm.map((run) => run.p99));
    const errors = [...storm.steady, ...storm.storm].reduce(
      (s, r) => s + r.non2xx + r.socketErrors,
      0,
    );
    const detail = `${during.toFixed(2)} ms vs ${steady.toFixed(2)} ms (${(during / steady).toFixed(2)}x), medians of ${storm.steady.length} round(s)`;
    checks.push({
      claim:
        storm.routes === stormTarget.routes && storm.intervalMs === 200
          ? stormTarget.claim
          : `p99 while a ${storm.routes.toLocaleString("en-US")}-route config is rewritten every ${storm.intervalMs} ms <= 2x steady p99`,
      verdict: during <= 2 * steady && errors === 0 ? "PASS" : "FAIL",
      detail: errors === 0 ? detail : `${detail}; ${errors} failed requests`,
    });
  }
  return checks;
}
