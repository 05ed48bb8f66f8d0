// The `gatehouse` command as package.json's `bin` gives it: bin/gatehouse.js, run in a clone
// (sources, no build step, never a stale dist/) and as the installed package (dist/ only).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { runGatehouse } from "../helpers/cli.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const packageJson = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  files: string[];
};
const scratch = mkdtempSync(join(tmpdir(), "gatehouse-launcher-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A file that, run instead of the real CLI, says so and fails. */
const impostor = (what: string) => `console.log("ran ${what}"); process.exit(3);\n`;

describe("package.json bin", () => {
  it("names gatehouse, a launcher the package ships", () => {
    assert.deepEqual(packageJson.bin, { gatehouse: "bin/gatehouse.js" });
    assert.ok(packageJson.files.includes("bin") && packageJson.files.includes("dist"));
  });
});

describe("gatehouse in a clone (after npm install, no build)", () => {
  const clone = join(scratch, "clone");
  const launcher = join(clone, "bin/gatehouse.js");
  before(() => {
    for (const part of ["package.json", "bin", "src", "examples"])
      cpSync(join(root, part), join(clone, part), { recursive: true });
    symlinkSync(join(root, "node_modules"), join(clone, "node_modules"));
    // A dist/ left over from an old `npm run build` must not be what runs.
    mkdirSync(join(clone, "dist/cli"), { recursive: true });
    writeFileSync(join(clone, "dist/cli/main.js"), impostor("a stale dist/"));
  });

  it("prints the package's version with --version and -v", async () => {
    for (const flag of ["--version", "-v"]) {
      const result = await runGatehouse([flag], { script: launcher });
      assert.equal(result.stderr, "");
      assert.equal(result.stdout, `${packageJson.version}\n`);
      assert.equal(result.code, 0);
    }
  });

  it("lists every command with --help", async () => {
    const result = await runGatehouse(["--help"], { script: launcher });
    assert.equal(result.code, 0, result.stderr);
    for (const command of ["start", "validate", "schema", "token", "hash-password", "secret"])
      assert.match(result.stdout, new RegExp(`^  ${command}\\b`, "m"), command);
    assert.match(result.stdout, /-v, --version/);
  });

  it("validates the quickstart config", async () => {
    const result = await runGatehouse(["validate", "-c", "examples/quickstart.yaml"], {
      script: launcher,
      cwd: clone,
    });
    assert.equal(result.stderr, "");
    assert.equal(result.stdout, "examples/quickstart.yaml: valid\n");
    assert.equal(result.code, 0);
  });

  it("says in one line that Node 24 is needed when node cannot strip types", async () => {
    const result = await runGatehouse(["--version"], {
      script: launcher,
      nodeOptions: ["--no-experimental-strip-types"],
    });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^gatehouse: Node 24 is needed .*npx gatehouse.*\n$/);
  });
});

describe("gatehouse installed as a package (node_modules/gatehouse-gateway, dist/)", () => {
  const project = join(scratch, "project");
  const installed = join(project, "node_modules", packageJson.name);
  const binLink = join(project, "node_modules/.bin/gatehouse");
  before(() => {
    cpSync(join(root, "package.json"), join(installed, "package.json"));
    cpSync(join(root, "bin"), join(installed, "bin"), { recursive: true });
    const build = spawnSync(
      process.execPath,
      [
        join(root, "node_modules/typescript/bin/tsc"),
        ...["-p", join(root, "tsconfig.build.json"), "--outDir", join(installed, "dist")],
        ...["--declaration", "false", "--sourceMap", "false"],
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    assert.equal(build.status, 0, `tsc: ${build.stdout}${build.stderr}`);
    // Under node_modules Node refuses to strip types, so sources there must never be run.
    mkdirSync(join(installed, "src/cli"), { recursive: true });
    writeFileSync(join(installed, "src/cli/main.ts"), impostor("src/ under node_modules"));
    // The package's dependencies, where npm would have put them beside or inside it.
    symlinkSync(join(root, "node_modules"), join(installed, "node_modules"));
    mkdirSync(join(project, "node_modules/.bin"));
    symlinkSync(`../${packageJson.name}/bin/gatehouse.js`, binLink);
  });

  it("runs dist/ for --version and validate", async () => {
    const version = await runGatehouse(["--version"], { script: binLink });
    assert.deepEqual(version, { code: 0, stdout: `${packageJson.version}\n`, stderr: "" });
    const quickstart = join(root, "examples/quickstart.yaml");
    const validate = await runGatehouse(["validate", "-c", quickstart], { script: binLink });
    assert.deepEqual(validate, { code: 0, stdout: `${quickstart}: valid\n`, stderr: "" });
  });

  it("says how to build when dist/ is missing", async () => {
    rmSync(join(installed, "dist"), { recursive: true });
    const result = await runGatehouse(["--version"], { script: binLink });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^gatehouse: .*dist\/cli\/main\.js is missing; .*npm run build/);
  });
});
