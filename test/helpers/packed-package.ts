/**
 * @module test/helpers/packed-package
 * This checkout as the npm package a user installs: built (`tsc -p tsconfig.build.json`)
 * into a staging folder, never the checkout's own dist/, with the files package.json's
 * `files` names, and packed by `npm pack` (with its prepack and postpack scripts) into a
 * tarball `npm install` takes. Also the environment for running npm and the package's
 * command the way a user's shell would.
 */
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The environment of a user's shell with this project's Node 24 first on PATH (so `npx`,
 * `npm` and the command's `#!/usr/bin/env node` run on it), and none of the `npm_*`
 * variables an `npm test` run sets, which would point npm at this checkout.
 */
export function userShellEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(name) && name !== "INIT_CWD") env[name] = value;
  }
  env.PATH = [join(root, "node_modules", ".bin"), process.env.PATH].join(delimiter);
  return env;
}

/** Builds and packs this checkout in a new folder under `dir`; resolves with the tarball's path. */
export async function packCheckout(dir: string, timeoutMs = 60_000): Promise<string> {
  const stage = await mkdtemp(join(dir, "gatehouse-package-"));
  const tsc = join(root, "node_modules", ".bin", "tsc");
  await run(tsc, ["-p", "tsconfig.build.json", "--outDir", join(stage, "dist")], {
    cwd: root,
    timeout: timeoutMs,
  });
  const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
    files: string[];
  };
  const packing = ["package.json", "README.md", "LICENSE", "scripts/pack-manifest.ts"];
  for (const entry of [...packing, ...manifest.files]) {
    if (entry === "dist") continue;
    await cp(join(root, entry), join(stage, entry), { recursive: true });
  }
  // The staged copy is packed with the package's own pack scripts (prepack points `exports`
  // at dist/, as a publish does); the build above stands in for prepublishOnly's, made
  // outside the checkout.
  const { stdout } = await run("npm", ["pack", "--silent", "--pack-destination", stage], {
    cwd: stage,
    env: userShellEnv(),
    timeout: timeoutMs,
  });
  return join(stage, stdout.trim().split("\n").at(-1)!);
}
