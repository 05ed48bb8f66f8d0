/**
 * @module bench/soak-verdict
 * What a soak run concludes: growth of memory and file descriptors between its first and
 * last third (a leak heuristic: a leak grows steadily, so the last third sits above the
 * first), errors beyond the ones expected just after a kill, reloads applied, and p99.
 */
import type { Check } from "./report.ts";
import type { SoakFailure } from "./soak-load.ts";
import type { SoakSample } from "./soak-samples.ts";

/** The last third's mean may exceed the first third's by this share before it counts as growth. */
export const memoryGrowthAllowed = 0.1;
/** The same for file descriptors, plus this many (a few sockets come and go). */
export const fdSlack = 5;

export interface SoakOutcome {
  samples: readonly SoakSample[];
  /** Every failure, after the grace classification. */
  failures: readonly (SoakFailure & { duringKill: boolean })[];
  kills: number;
  rewrites: number;
  /** Config versions the gateway applied after the first. */
  applied: number;
}

/**
 * Means of a column over the first and the last third of the samples, and the lowest
 * sample of each (for memory, the floor a full collection comes back to).
 */
export function thirds(samples: readonly SoakSample[], key: keyof SoakSample) {
  const third = Math.floor(samples.length / 3);
  const values = (rows: readonly SoakSample[]) =>
    rows.map((row) => row[key]).filter(Number.isFinite);
  const mean = (rows: readonly SoakSample[]) =>
    values(rows).reduce((sum, value) => sum + value, 0) / Math.max(1, values(rows).length);
  const [first, last] = [samples.slice(0, third), samples.slice(-third)];
  return {
    first: mean(first),
    last: mean(last),
    firstFloor: Math.min(...values(first)),
    lastFloor: Math.min(...values(last)),
  };
}

export function soakChecks(outcome: SoakOutcome): Check[] {
  const { samples, failures } = outcome;
  const enough = samples.length >= 3;
  const growth = (key: "rssMiB" | "heapUsedMiB", label: string): Check => {
    const { first, last, firstFloor, lastFloor } = thirds(samples, key);
    return {
      claim: `${label}: last third <= ${1 + memoryGrowthAllowed}x the first third`,
      verdict: !enough ? "n/a" : last <= first * (1 + memoryGrowthAllowed) ? "PASS" : "FAIL",
      detail: `mean ${first.toFixed(1)} → ${last.toFixed(1)} MiB (${percent(first, last)}), lowest sample ${firstFloor.toFixed(1)} → ${lastFloor.toFixed(1)} MiB`,
    };
  };
  const fds = thirds(samples, "fds");
  const unexpected = failures.filter((failure) => !failure.duringKill);
  const duringKill = failures.length - unexpected.length;
  const p99s = samples.map((sample) => sample.p99Ms).filter(Number.isFinite);
  const worst = samples.reduce<SoakSample | undefined>(
    (top, sample) => (!top || sample.p99Ms > top.p99Ms ? sample : top),
    undefined,
  );
  return [
    growth("rssMiB", "Gateway RSS"),
    growth("heapUsedMiB", "Gateway heap used"),
    {
      claim: `Open file descriptors: last third <= ${1 + memoryGrowthAllowed}x the first third + ${fdSlack}`,
      verdict: !enough
        ? "n/a"
        : fds.last <= fds.first * (1 + memoryGrowthAllowed) + fdSlack
          ? "PASS"
          : "FAIL",
      detail: `${fds.first.toFixed(1)} → ${fds.last.toFixed(1)} (${percent(fds.first, fds.last)})`,
    },
    {
      claim: "No errors outside the grace after a target is killed",
      verdict: unexpected.length === 0 ? "PASS" : "FAIL",
      detail: `${unexpected.length} outside${tally(unexpected)}; ${duringKill} just after ${outcome.kills} kills${tally(failures.filter((failure) => failure.duringKill))}`,
    },
    {
      claim: "Every config rewrite applied",
      verdict: outcome.applied >= outcome.rewrites ? "PASS" : "FAIL",
      detail: `${outcome.rewrites} rewrites, ${outcome.applied} versions applied`,
    },
    {
      claim: "p99 per interval",
      verdict: "n/a",
      detail: p99s.length
        ? `median ${median(p99s).toFixed(1)} ms, worst ${worst!.p99Ms.toFixed(1)} ms at ${worst!.t}s, best ${Math.min(...p99s).toFixed(1)} ms`
        : "no requests",
    },
  ];
}

function percent(first: number, last: number): string {
  if (!(first > 0)) return "n/a";
  const change = ((last - first) / first) * 100;
  return `${change >= 0 ? "+" : ""}${change.toFixed(1)}%`;
}

/** ` (3 order: status 502, 1 ws0: closed 1006)`: the kinds, most frequent first. */
function tally(failures: readonly SoakFailure[]): string {
  if (failures.length === 0) return "";
  const counts = new Map<string, number>();
  for (const { what } of failures) counts.set(what, (counts.get(what) ?? 0) + 1);
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 4);
  return ` (${top.map(([what, count]) => `${count} ${what}`).join(", ")}${counts.size > 4 ? ", ..." : ""})`;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
