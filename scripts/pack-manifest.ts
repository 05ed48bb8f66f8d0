/**
 * The package.json that goes into the npm tarball. In a clone, `exports` names the
 * TypeScript sources (`./src/sdk/index.ts`), which Node 24 runs by stripping their types,
 * so `gatehouse-gateway/sdk` resolves with no build. Node never strips types under
 * node_modules, and the package ships dist/ without src/, so the packed manifest must name
 * the compiled files instead: npm runs this as `prepack` (rewrite, after checking that each
 * compiled file exists) and `postpack` (`--restore`: the manifest as it was, byte for byte).
 * The original waits in .tmp/ (ignored by git, never packed) between the two.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

type ExportTarget = string | { [condition: string]: ExportTarget };

const manifestPath = "package.json";
const savedPath = join(".tmp", "package.json.before-pack");

/** The compiled counterpart of one source export: its declarations for TypeScript, its JavaScript for Node. */
function compiledTarget(target: string): ExportTarget {
  const match = /^\.\/src\/(.+)\.ts$/.exec(target);
  if (!match) return target;
  return { types: `./dist/${match[1]}.d.ts`, default: `./dist/${match[1]}.js` };
}

/**
 * `exports` with every target in `./src/` (a `.ts` file) replaced by its compiled files; a manifest
 * without such targets (already rewritten) comes back unchanged.
 */
export function packedExports(exports: Record<string, ExportTarget>): Record<string, ExportTarget> {
  const rewrite = (target: ExportTarget): ExportTarget =>
    typeof target === "string"
      ? compiledTarget(target)
      : Object.fromEntries(Object.entries(target).map(([key, value]) => [key, rewrite(value)]));
  return Object.fromEntries(Object.entries(exports).map(([key, value]) => [key, rewrite(value)]));
}

/** The files a set of export targets names, for checking that the build made them. */
function namedFiles(target: ExportTarget): string[] {
  return typeof target === "string" ? [target] : Object.values(target).flatMap(namedFiles);
}

function rewrite(): void {
  const text = readFileSync(manifestPath, "utf8");
  const manifest = JSON.parse(text) as { exports?: Record<string, ExportTarget> };
  if (!manifest.exports) return;
  const exports = packedExports(manifest.exports);
  const missing = Object.values(exports)
    .flatMap(namedFiles)
    .filter((file) => !existsSync(file));
  if (missing.length > 0) {
    console.error(
      `pack-manifest: the package would name files that do not exist: ${missing.join(", ")}; run \`npm run build\` first`,
    );
    process.exit(1);
  }
  // A save left by a pack that never reached postpack is the true original: keep it.
  if (!existsSync(savedPath)) {
    mkdirSync(".tmp", { recursive: true });
    writeFileSync(savedPath, text);
  }
  writeFileSync(manifestPath, `${JSON.stringify({ ...manifest, exports }, null, 2)}\n`);
}

function restore(): void {
  if (existsSync(savedPath)) renameSync(savedPath, manifestPath);
}

if (import.meta.main) {
  if (process.argv.includes("--restore")) restore();
  else rewrite();
}
