/**
 * @module test/helpers/image-files
 * What deploy/Dockerfile would put in the image, checked without Docker: that the
 * dashboard's files are copied and not excluded by .dockerignore, and that every package
 * the dashboard serves files from is installed by the image's `npm ci --omit=dev` (a
 * runtime dependency in package.json, not marked dev in the lockfile).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, matchesGlob, relative, sep } from "node:path";

/** The package a specifier names: `diff/lib/index.mjs` → `diff`, `@a/b/c.js` → `@a/b`. */
export function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

export interface ImageInputs {
  dockerfile: string;
  dockerignore: string;
  manifest: { dependencies?: Record<string, string> };
  lockfile: { packages: Record<string, { dev?: boolean }> };
  /** The dashboard's files, relative to the repository root (`src/admin/ui/index.html`). */
  uiFiles: string[];
  /** The package files the dashboard serves under /ui/vendor/. */
  vendorSpecifiers: string[];
}

/** The inputs as they are in the checkout at `root`. */
export function readImageInputs(root: string, vendorSpecifiers: string[]): ImageInputs {
  const ui = join(root, "src/admin/ui");
  return {
    dockerfile: readFileSync(join(root, "deploy/Dockerfile"), "utf8"),
    dockerignore: readFileSync(join(root, ".dockerignore"), "utf8"),
    manifest: JSON.parse(readFileSync(join(root, "package.json"), "utf8")),
    lockfile: JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")),
    uiFiles: readdirSync(ui, { recursive: true, encoding: "utf8" }).map((name) =>
      relative(root, join(ui, name)).split(sep).join("/"),
    ),
    vendorSpecifiers,
  };
}

/** What would keep the dashboard out of the image, one line each (empty: it is in). */
export function dashboardImageProblems(inputs: ImageInputs): string[] {
  const problems: string[] = [];
  if (!/^COPY src \.\/src$/m.test(inputs.dockerfile))
    problems.push("deploy/Dockerfile does not COPY src ./src (the dashboard is src/admin/ui)");
  if (!inputs.uiFiles.includes("src/admin/ui/index.html"))
    problems.push("src/admin/ui/index.html is missing");
  const patterns = inputs.dockerignore
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#") && !line.startsWith("!"));
  for (const file of inputs.uiFiles) {
    // A pattern excludes a file when it matches the file or any folder above it.
    const parts = file.split("/");
    const paths = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    const pattern = patterns.find((one) => paths.some((path) => matchesGlob(path, one)));
    if (pattern) problems.push(`.dockerignore's "${pattern}" leaves out ${file}`);
  }
  for (const specifier of inputs.vendorSpecifiers) {
    const name = packageOf(specifier);
    if (!inputs.manifest.dependencies?.[name])
      problems.push(`${name} (served at /ui/vendor/) is not in package.json's dependencies`);
    else if (inputs.lockfile.packages[`node_modules/${name}`]?.dev)
      problems.push(`${name} is marked dev in package-lock.json: npm ci --omit=dev skips it`);
  }
  return problems;
}
