#!/usr/bin/env node
// The `gatehouse` command. In a clone (src/ beside this folder, not under node_modules) it
// runs the TypeScript sources, which Node 24 strips of their types, so no build step comes
// between a change and the command; installed as a package (under node_modules, where Node
// will not strip types, and where the package ships dist/ and no src/) it runs the compiled
// dist/. A stale dist/ in a clone is never run.
import { existsSync } from "node:fs";
import { sep } from "node:path";
import { fileURLToPath } from "node:url";

const packageRoot = new URL("../", import.meta.url);
const source = new URL("src/cli/main.ts", packageRoot);
const compiled = new URL("dist/cli/main.js", packageRoot);
const installed = fileURLToPath(packageRoot).split(sep).includes("node_modules");

if (!installed && existsSync(source)) {
  if (!process.features.typescript) {
    console.error(
      `gatehouse: Node 24 is needed to run this clone's TypeScript sources (this is Node ${process.versions.node}); run \`npx gatehouse\`, which uses the project's own Node 24`,
    );
    process.exit(1);
  }
  await import(source.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  console.error(
    `gatehouse: ${fileURLToPath(compiled)} is missing; build it with npm run build in ${fileURLToPath(packageRoot)}`,
  );
  process.exit(1);
}
