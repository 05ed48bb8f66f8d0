/**
 * @module scripts/fuzz
 * `npm run fuzz [-- NAME...]`: the property tests of test/fuzz (all, or those whose file
 * name starts with a NAME) run longer than `npm test` runs them: FUZZ_RUNS runs of each
 * property (default 2000) from FUZZ_SEED (default: a new seed each time). The seed is
 * printed first and last, with the command that replays the run.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const folder = fileURLToPath(new URL("../test/fuzz/", import.meta.url));
const names = process.argv.slice(2);
const files = readdirSync(folder)
  .filter((file) => file.endsWith(".test.ts"))
  .filter((file) => names.length === 0 || names.some((name) => file.startsWith(name)))
  .sort();
if (files.length === 0) {
  console.error(`fuzz: no test/fuzz/*.test.ts file starts with ${names.join(" or ")}`);
  process.exit(2);
}

const runs = process.env.FUZZ_RUNS || "2000";
// A 31-bit seed, as fast-check takes; new each run unless given, so long runs explore.
const seed = process.env.FUZZ_SEED || String(Math.floor(Math.random() * 2 ** 31));
const replay = `FUZZ_SEED=${seed} FUZZ_RUNS=${runs} npm run fuzz${names.length > 0 ? ` -- ${names.join(" ")}` : ""}`;
console.log(`fuzz: seed ${seed}, ${runs} runs per property, ${files.join(" ")}`);

const result = spawnSync(
  process.execPath,
  [
    "--test",
    "--test-concurrency=1",
    "--test-timeout=0",
    ...files.map((file) => join(folder, file)),
  ],
  { stdio: "inherit", env: { ...process.env, FUZZ_RUNS: runs, FUZZ_SEED: seed } },
);
const code = result.status ?? 1;
console.log(`fuzz: ${code === 0 ? "passed" : "FAILED"}, seed ${seed}; replay: ${replay}`);
process.exit(code);
