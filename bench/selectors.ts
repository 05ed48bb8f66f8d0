/**
 * @module bench/selectors
 * In-process micro-benchmark of each load-balancing selector: nanoseconds per pick at 10
 * and 1,000 targets, and the first pick's cost (which builds a ring or a schedule).
 * `node bench/selectors.ts` prints the table; `npm run bench` runs it after the proxies.
 */
import { algorithms } from "../src/config/schema/upstream.ts";
import { ManualClock } from "../src/upstream/clock.ts";
import { createSelector } from "../src/upstream/selectors/index.ts";
import type { SelectionRequest } from "../src/upstream/selectors/selector.ts";
import {
  clientRequest,
  destroyFleet,
  fleet,
  seededRandom,
} from "../src/upstream/selectors/test-fleet.ts";
import type { Target } from "../src/upstream/target.ts";
import { formatColumns } from "./table.ts";

export interface SelectorCost {
  algorithm: string;
  targets: number;
  /** Nanoseconds per `select()` (median of several batches), state already built. */
  nsPerPick: number;
  /** Microseconds for a new selector's first pick, which builds any per-targets state. */
  firstPickUs: number;
}

/** Clients cycled through, so hashing sees distinct keys as it would in production. */
const requests: SelectionRequest[] = Array.from({ length: 1024 }, (_, n) => clientRequest(n));

/** Every selector at each target count; about 1.5 s in all. */
export async function measureSelectorCost(
  targetCounts: readonly number[] = [10, 1_000],
): Promise<SelectorCost[]> {
  const costs: SelectorCost[] = [];
  try {
    for (const count of targetCounts) {
      const targets = loadedFleet(count);
      for (const algorithm of algorithms) {
        costs.push({
          algorithm,
          targets: count,
          nsPerPick: round(pickCost(algorithm, targets)),
          firstPickUs: round(firstPickCost(algorithm, targets)),
        });
      }
    }
  } finally {
    await destroyFleet();
  }
  return costs;
}

/** Mixed weights, load and latencies, all available, as a busy service looks. */
function loadedFleet(count: number): Target[] {
  const targets = fleet(
    Array.from({ length: count }, (_, i) => (i % 3) + 1),
    new ManualClock(),
  );
  targets.forEach((target, i) => {
    target.inFlight = i % 5;
    target.latency.record((i % 7) + 1);
  });
  return targets;
}

function pickCost(algorithm: (typeof algorithms)[number], targets: Target[]): number {
  const selector = createSelector({ algorithm }, { random: seededRandom(1) });
  const run = (picks: number) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < picks; i++) {
      if (selector.select(targets, requests[i & 1023]!) === undefined)
        throw new Error(`selector micro-benchmark: ${algorithm} picked nothing`);
    }
    return Number(process.hrtime.bigint() - started) / picks;
  };
  run(2_000);
  // Batches of about 5 ms, so the slowest selector at 1,000 targets stays bounded too.
  const batch = Math.min(200_000, Math.max(1_000, Math.round(5e6 / run(2_000))));
  const samples = Array.from({ length: 15 }, () => run(batch)).sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

function firstPickCost(algorithm: (typeof algorithms)[number], targets: Target[]): number {
  const samples = Array.from({ length: 5 }, () => {
    const selector = createSelector({ algorithm }, { random: seededRandom(1) });
    const started = process.hrtime.bigint();
    selector.select(targets, requests[0]!);
    return Number(process.hrtime.bigint() - started) / 1_000;
  }).sort((a, b) => a - b);
  return samples[2]!;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** The pick-cost table: one row per selector, one column pair per target count. */
export function formatSelectorTable(costs: readonly SelectorCost[]): string {
  const counts = [...new Set(costs.map((cost) => cost.targets))];
  const names = [...new Set(costs.map((cost) => cost.algorithm))];
  const header = [
    "selector",
    ...counts.map((count) => `pick @ ${count.toLocaleString("en-US")}`),
    ...counts.map((count) => `first @ ${count.toLocaleString("en-US")}`),
  ];
  const rows = names.map((name) => {
    const of = (count: number) =>
      costs.find((cost) => cost.algorithm === name && cost.targets === count);
    return [
      name,
      ...counts.map((count) => `${of(count)?.nsPerPick.toFixed(0) ?? "-"} ns`),
      ...counts.map((count) => `${of(count)?.firstPickUs.toFixed(1) ?? "-"} µs`),
    ];
  });
  return formatColumns(header, rows);
}

if (import.meta.main) console.log(formatSelectorTable(await measureSelectorCost()));
