// bench/soak.ts (`npm run soak`) run for 14 s with every interval shortened: it starts its
// targets and a Gatehouse, kills and revives targets, rewrites the config, exits 0, and
// leaves a CSV with one row per sample and an SVG chart with every series, so the
// 30-minute script cannot rot unnoticed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { fileURLToPath } from "node:url";
import { exited } from "../helpers/child-process.ts";

const script = fileURLToPath(new URL("../../bench/soak.ts", import.meta.url));
const out = mkdtempSync(join(tmpdir(), "gatehouse-soak-test-"));
after(() => rmSync(out, { recursive: true, force: true }));

/** Every tag of `svg` opens and closes in order: enough to catch a broken chart. */
function assertWellFormed(svg: string) {
  const stack: string[] = [];
  for (const [tag, closing, name, selfClosing] of svg.matchAll(/<(\/?)([a-z]+)\b[^>]*?(\/?)>/g)) {
    if (closing) assert.equal(stack.pop(), name, `unbalanced ${tag}`);
    else if (!selfClosing) stack.push(name!);
  }
  assert.deepEqual(stack, [], "every element is closed");
}

it("runs a short soak and writes the samples, the chart and the verdict", async () => {
  const child = spawn(
    process.execPath,
    [
      script,
      ...["--duration", "14s", "--sample-every", "2s", "--reload-every", "2s"],
      ...["--kill-every", "6s", "--down-for", "2s", "--rate", "60", "--websockets", "2"],
      ...["--out", out],
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk;
  });
  const deadline = setTimeout(() => child.kill("SIGTERM"), 90_000);
  await exited(child);
  clearTimeout(deadline);
  assert.equal(child.exitCode, 0, output);

  const [header, ...rows] = readFileSync(join(out, "samples.csv"), "utf8").trim().split("\n");
  const columns = header!.split(",");
  assert.ok(rows.length >= 6, `one row per 2 s sample, got ${rows.length}`);
  const column = (name: string) => rows.map((row) => Number(row.split(",")[columns.indexOf(name)]));
  assert.ok(
    column("rssMiB").every((mib) => mib > 10),
    "the gateway's RSS is read from /proc",
  );
  assert.ok(
    column("fds").every((fds) => fds > 5),
    "its open fds are counted",
  );
  assert.ok(column("requests").reduce((a, b) => a + b) > 100, "traffic went through");
  assert.ok(column("reloads").reduce((a, b) => a + b) >= 3, "the config rewrites were applied");
  assert.ok(
    column("targetsUp").some((up) => up === 2),
    "a target was down for a while",
  );

  const svg = readFileSync(join(out, "soak.svg"), "utf8");
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assertWellFormed(svg);
  for (const series of ["rssMiB", "heapUsedMiB", "fds", "p99Ms", "p50Ms", "errors"]) {
    const points = new RegExp(`data-series="${series}" points="([^"]*)"`).exec(svg)?.[1];
    assert.equal(points?.split(" ").length, rows.length, `${series} has a point per sample`);
  }

  const run = JSON.parse(readFileSync(join(out, "samples.json"), "utf8")) as { kills: number };
  assert.ok(run.kills >= 2, `targets were killed, got ${run.kills}`);
  assert.match(output, /^(PASS|FAIL) {2}Gateway RSS: /m);
  assert.match(output, /^(PASS|FAIL) {2}No errors outside the grace after a target is killed: /m);
  assert.ok(output.includes(`output: ${out}`), "the output folder is printed");
});
