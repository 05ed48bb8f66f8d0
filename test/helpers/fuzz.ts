/**
 * @module test/helpers/fuzz
 * How every property test runs: a fixed seed and a bounded number of runs in `npm test`,
 * so a failure reproduces and the suite stays quick; `FUZZ_RUNS` and `FUZZ_SEED` (what
 * `npm run fuzz` sets) run longer or elsewhere. A failure names the seed, the run count
 * and the counterexample's path, the three things that replay it.
 */
import fc from "fast-check";

/** The seed when FUZZ_SEED is unset: fixed, so `npm test` checks the same cases each time. */
export const defaultFuzzSeed = 20261207;

/** The seed of this run: FUZZ_SEED, or the fixed default. */
export function fuzzSeed(): number {
  const text = process.env.FUZZ_SEED;
  if (text === undefined || text === "") return defaultFuzzSeed;
  const seed = Number(text);
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, got "${text}"`);
  return seed;
}

/** Runs of one property: FUZZ_RUNS when set, else the property's own bounded default. */
export function fuzzRuns(defaultRuns: number): number {
  const text = process.env.FUZZ_RUNS;
  if (text === undefined || text === "") return defaultRuns;
  const runs = Number(text);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`FUZZ_RUNS must be a positive integer, got "${text}"`);
  return runs;
}

/**
 * Checks `property` for `defaultRuns` runs (or FUZZ_RUNS) from the run's seed. On failure
 * the error starts with the line that replays it, then fast-check's report (seed, path,
 * the shrunk counterexample and what it threw).
 */
export async function checkProperty<T>(
  property: fc.IProperty<T> | fc.IAsyncProperty<T>,
  defaultRuns: number,
): Promise<void> {
  const seed = fuzzSeed();
  const numRuns = fuzzRuns(defaultRuns);
  const path = process.env.FUZZ_PATH || undefined;
  try {
    await fc.assert(property, { seed, numRuns, ...(path && { path }) });
  } catch (error) {
    const report = error instanceof Error ? error.message : String(error);
    const found = /path: "([^"]*)"/.exec(report)?.[1];
    const replay = `FUZZ_SEED=${seed} FUZZ_RUNS=${numRuns}${found ? ` FUZZ_PATH=${found}` : ""}`;
    // fast-check keeps what the property threw as the cause; its message is the finding.
    const cause = (error as { cause?: unknown }).cause;
    const thrown = cause instanceof Error ? `\nThe property threw: ${cause.message}` : "";
    throw new Error(`property failed; replay with ${replay}\n${report}${thrown}`, { cause });
  }
}
