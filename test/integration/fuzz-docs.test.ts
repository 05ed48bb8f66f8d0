// docs/testing.md's Fuzzing section as a user meets it: each `npm run fuzz` line of its
// example runs (with a tiny FUZZ_RUNS, so it is quick) and prints the seed and the command
// that replays it; the table lists every property file there is; the seed it names is the
// one `npm test` uses.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { defaultFuzzSeed } from "../helpers/fuzz.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const text = readFileSync(`${root}docs/testing.md`, "utf8");
const fuzzing = text.slice(text.indexOf("## Fuzzing"));

describe("docs/testing.md: Fuzzing", () => {
  it("runs each npm run fuzz example, printing its seed and the replay command", () => {
    const block = /```sh\n([\s\S]*?)```/.exec(fuzzing)?.[1] ?? "";
    const lines = block.split("\n").filter((line) => line.trim() !== "");
    assert.ok(lines.length >= 2, "the example has its commands");
    for (const line of lines) {
      const parsed = /^((?:[A-Z_]+=\S+ )*)npm run fuzz(?: -- (.+))?$/.exec(line);
      assert.ok(parsed, `not an npm run fuzz line: ${line}`);
      const env = Object.fromEntries(
        parsed[1]!
          .trim()
          .split(" ")
          .filter(Boolean)
          .map((pair) => pair.split("=") as [string, string]),
      );
      const names = parsed[2]?.split(" ") ?? [];
      const run = spawnSync(process.execPath, [`${root}scripts/fuzz.ts`, ...names], {
        env: { ...process.env, ...env, FUZZ_RUNS: "3" },
        encoding: "utf8",
        timeout: 100_000,
      });
      assert.equal(run.status, 0, `${line}\n${run.stdout}\n${run.stderr}`);
      const seed = /^fuzz: seed (\d+), 3 runs per property, (.+)$/m.exec(run.stdout);
      assert.ok(seed, run.stdout);
      if (env.FUZZ_SEED) assert.equal(seed[1], env.FUZZ_SEED);
      for (const name of names) assert.match(seed[2]!, new RegExp(`\\b${name}`));
      const suffix = names.length > 0 ? ` -- ${names.join(" ")}` : "";
      assert.ok(
        run.stdout.includes(
          `fuzz: passed, seed ${seed[1]}; replay: FUZZ_SEED=${seed[1]} FUZZ_RUNS=3 npm run fuzz${suffix}`,
        ),
        run.stdout,
      );
    }
  });

  it("lists every property file and names the seed npm test uses", () => {
    const files = readdirSync(`${root}test/fuzz`).filter((file) => file.endsWith(".test.ts"));
    const listed = [...fuzzing.matchAll(/^\| `([\w-]+\.test\.ts)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(listed.sort(), files.sort());
    assert.match(fuzzing, new RegExp(`fixed seed ${defaultFuzzSeed}\\b`));
  });

  it("refuses an example for names that match no property file", () => {
    const run = spawnSync(process.execPath, [`${root}scripts/fuzz.ts`, "nothing-here"], {
      encoding: "utf8",
    });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /no test\/fuzz\/\*\.test\.ts file starts with nothing-here/);
  });
});
