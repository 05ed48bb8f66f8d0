// scripts/check-lockfile.ts (the first step of `npm test`): the committed package.json and
// package-lock.json agree, and copies that disagree the ways a fresh clone meets (a
// dependency the lockfile lacks, other platforms' optional packages missing) fail with a
// message naming what is wrong. Copies only: the real files are never edited.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const script = join(root, "scripts/check-lockfile.ts");
const scratch = mkdtempSync(join(tmpdir(), "gatehouse-lockfile-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

type Json = Record<string, Record<string, unknown>>;

/** A copy of the project's package.json and lockfile in a folder of its own, edited. */
function copyProject(
  name: string,
  edit: { pkg?: (pkg: Json) => void; lock?: (lock: Json) => void },
) {
  const dir = join(scratch, name);
  const read = (file: string) => JSON.parse(readFileSync(join(root, file), "utf8")) as Json;
  const pkg = read("package.json");
  const lock = read("package-lock.json");
  edit.pkg?.(pkg);
  edit.lock?.(lock);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  if (edit.lock)
    writeFileSync(join(dir, "package-lock.json"), `${JSON.stringify(lock, null, 2)}\n`);
  else copyFileSync(join(root, "package-lock.json"), join(dir, "package-lock.json"));
  return dir;
}

/** Runs the check on `dir` (it runs npm, which takes well under a second here). */
function check(dir: string) {
  const result = spawnSync(process.execPath, [script, dir], { encoding: "utf8", timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("scripts/check-lockfile.ts", () => {
  it("passes on the committed package.json and package-lock.json", () => {
    const result = check(root);
    assert.equal(result.stderr, "");
    assert.equal(result.code, 0);
  });

  it("fails when package.json names a dependency the lockfile's root entry lacks", () => {
    // ms is in the tree already (a dependency's dependency), so `npm ci` alone would not
    // notice; `npm install` would add it to the root entry, dirtying the clone.
    const dir = copyProject("extra-dependency", {
      pkg: (pkg) => {
        pkg.dependencies!.ms = "^2.1.3";
      },
    });
    const result = check(dir);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^package-lock\.json does not match package\.json in /);
    assert.match(result.stderr, /`npm install` would rewrite it/);
    assert.match(result.stderr, /dependencies\.ms differs from the lockfile's root entry/);
    assert.match(result.stderr, /Run `npm install` and commit package-lock\.json\.\n$/);
  });

  it("fails, naming them, when other platforms' optional packages are missing", () => {
    const dir = copyProject("missing-optional", {
      lock: (lock) => {
        for (const key of Object.keys(lock.packages!))
          if (/@biomejs\/cli-(darwin|win32)/.test(key)) delete lock.packages![key];
      },
    });
    const result = check(dir);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /`npm ci` refuses it/);
    // npm 10 names the version it wanted (`…@2.3.8 from lock file`), npm 11 does not (`…@ from`).
    assert.match(result.stderr, /Missing: @biomejs\/cli-darwin-arm64@[\d.]* from lock file/);
  });

  it("fails when package.json's bin differs from the lockfile's", () => {
    const dir = copyProject("other-bin", {
      pkg: (pkg) => {
        pkg.bin = { gatehouse: "dist/cli/main.js" };
      },
    });
    const result = check(dir);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bin\.gatehouse differs from the lockfile's root entry/);
  });
});
