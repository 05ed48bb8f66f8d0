/**
 * Fails when package-lock.json and package.json disagree, the way a fresh clone would find
 * out: `npm ci` refusing the lockfile, or `npm install` rewriting it (leaving the clone
 * dirty). Both are asked of npm itself, on a copy of the two files in a scratch folder, with
 * `--offline`: a lockfile in step with package.json holds everything npm needs to agree,
 * so nothing is fetched. `npm test` runs it; `node scripts/check-lockfile.ts [DIR]` checks
 * the project in DIR (default: this one).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

interface Lockfile {
  packages?: Record<string, unknown>;
}

/** What is wrong with DIR's lockfile, as lines for a person; empty when it agrees. */
export function lockfileProblems(dir: string): string[] {
  const scratch = mkdtempSync(join(tmpdir(), "gatehouse-lockfile-"));
  try {
    for (const name of ["package.json", "package-lock.json", ".npmrc"]) {
      if (existsSync(join(dir, name))) copyFileSync(join(dir, name), join(scratch, name));
    }
    if (!existsSync(join(scratch, "package-lock.json"))) return ["package-lock.json is missing"];
    const committed = readFileSync(join(scratch, "package-lock.json"), "utf8");
    const quiet = ["--ignore-scripts", "--no-audit", "--no-fund", "--offline", "--loglevel=error"];

    const ci = npm(scratch, ["ci", "--dry-run", ...quiet]);
    if (ci.status !== 0) return ["`npm ci` refuses it:", ...npmError(ci.stderr)];

    const install = npm(scratch, ["install", "--package-lock-only", ...quiet]);
    if (install.status !== 0)
      return ["`npm install` cannot settle it:", ...npmError(install.stderr)];
    const rewritten = readFileSync(join(scratch, "package-lock.json"), "utf8");
    if (rewritten === committed) return [];
    return ["`npm install` would rewrite it:", ...packageChanges(committed, rewritten)];
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function npm(cwd: string, args: string[]) {
  return spawnSync("npm", args, { cwd, encoding: "utf8", timeout: 120_000 });
}

/** npm's `npm error` lines that say what is wrong, without its usage text and log path. */
function npmError(stderr: string): string[] {
  const lines = stderr
    .split("\n")
    .map((line) => line.replace(/^npm error ?/, "").trim())
    .filter((line) => line !== "" && !/^(A complete log|Usage:|Clean install)/.test(line));
  const usage = lines.findIndex((line) => line.startsWith("npm ci"));
  return (usage > 0 ? lines.slice(0, usage) : lines).slice(0, 12).map((line) => `  ${line}`);
}

/** The `packages` entries a rewrite adds, removes or changes (`""` is the project itself). */
function packageChanges(before: string, after: string): string[] {
  const old = (JSON.parse(before) as Lockfile).packages ?? {};
  const changed = (JSON.parse(after) as Lockfile).packages ?? {};
  const lines = differences(old[""], changed[""], "").map(
    (field) => `  package.json's ${field} differs from the lockfile's root entry`,
  );
  for (const key of new Set([...Object.keys(old), ...Object.keys(changed)])) {
    if (key === "") continue;
    if (!(key in old)) lines.push(`  + ${key}`);
    else if (!(key in changed)) lines.push(`  - ${key}`);
    else if (!same(old[key], changed[key])) lines.push(`  ~ ${key}`);
  }
  return lines.length > 0 ? lines.slice(0, 20) : ["  (formatting only)"];
}

/** Dotted names of the fields that differ between two entries, one level into objects. */
function differences(before: unknown, after: unknown, prefix: string): string[] {
  const a = (before ?? {}) as Record<string, unknown>;
  const b = (after ?? {}) as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].flatMap((key) => {
    if (same(a[key], b[key])) return [];
    const nested = [a[key], b[key]].every((value) => value === undefined || isObject(value));
    return prefix === "" && nested ? differences(a[key], b[key], `${key}.`) : [prefix + key];
  });
}

function isObject(value: unknown): boolean {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = resolve(process.argv[2] ?? fileURLToPath(new URL("..", import.meta.url)));
  const problems = lockfileProblems(dir);
  if (problems.length > 0) {
    console.error(`package-lock.json does not match package.json in ${dir}`);
    for (const line of problems) console.error(line);
    console.error("Run `npm install` and commit package-lock.json.");
    process.exit(1);
  }
}
